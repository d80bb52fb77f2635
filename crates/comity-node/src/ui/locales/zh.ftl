# comity 网页界面，简体中文。
skip-to-content = 跳到正文
nav-label = 主导航
nav-dashboard = 工作台
nav-new-request = 新建请求
nav-directory = 机关名录
nav-statistics = 统计
nav-audit = 审计
role-caseworker = 经办人
role-supervisor = 主管
role-judge = 法官
role-admin = 管理员
role-auditor = 审计员
language = 语言
language-apply = 应用
logout = 退出登录
back-to-dashboard = 返回工作台
none = 暂无内容。
created = 创建时间
example = 示例

dashboard-title = 工作台
queue-urgent = 24/7 紧急队列
queue-incoming = 收到的请求
queue-outgoing = 发出的请求
queue-deadlines = 期限
col-request = 请求
col-state = 状态
col-urgency = 紧急程度
col-requested-state = 被请求国
col-next-due = 最近期限

login-title = 登录
login-username = 用户名
login-password = 密码
login-code = 身份验证器中的六位数字验证码
login-submit = 登录
login-refused = 用户名、密码或验证码错误。
login-locked = 失败次数过多。账户已锁定至 { $until }。

error-forbidden = 您的角色无权执行此操作。
error-csrf = 表单已过期或并非来自本站点。请刷新页面后重试。
error-not-found = 此处没有内容。
error-internal = 本节点发生错误，已记录在日志中。

wizard-choose = 起草请求：选择合作机制
needs-authorisation = 需要司法授权
wizard-title = 草稿
wizard-case = 案件
wizard-basics = 基本信息
wizard-details = 详细信息
wizard-check = 检查
wizard-save = 保存草稿
wizard-need-case = 请填写案件编号：草稿必须属于某一案件。
required = （必填）

findings-title = 保障措施检查结果
findings-blocking = { $count ->
   *[other] 有 { $count } 项检查结果阻止发送。
}
findings-clear = 没有阻止发送的检查结果。
severity-block = 阻止：
severity-warn = 警告：
severity-info = 提示：

field-instrument = 法律文书
field-urgency = 紧急程度
field-addressee-kind = 收件机关类型
field-issuer = 签发者
field-offence-entry = 犯罪
field-offence-provision = 国内法条款
field-offence-penalty = 最高刑罚（月）
field-data-category = 数据类别
field-data-description = 数据说明
field-identifier-kind = 标识符类型
field-identifier-value = 标识符
field-identifier-observed = 观察时间（日期、时间和时区偏移）
field-confidentiality = 请求保密
field-collection-days = 收集期限（天）
field-case_reference = 案件编号
field-case_title = 案件名称
field-collection_justification = 收集期限的理由
field-assets_description = 资产
field-assets_location = 资产所在地
field-jit_members = 小组成员（以逗号分隔）
field-jit_duration_days = 期限（天）
field-jit_evidence_arrangements = 证据安排
field-language = 请求所用语言
field-requesting_authority = 请求机关
field-requested_state = 被请求国（两个字母）
field-addressee = 收件机关
field-domestic_legal_basis = 国内法律依据
field-offences = 犯罪
field-summary_of_facts = 案情摘要
field-data_sought = 所需数据
field-relation_to_offence = 与犯罪的关联
field-custodian_or_location = 数据保管者或所在地
field-necessity = 保全的必要性
field-follow_up_mla_intent = 随后将提出司法协助请求
field-assistance_sought = 所请求的协助
field-purpose = 目的
field-persons_concerned = 相关人员
field-emergency_justification = 紧急情况的理由
field-collection_period = 收集期限
field-preservation_reference = 保全请求编号
field-conditions = 条件
field-assets = 资产
field-joint_investigation = 联合调查组

urgency-normal = 普通
urgency-urgent = 紧急
urgency-emergency = 危急

kind-central-authority = 中央机关
kind-contact-point = 24/7 联络点
kind-judicial = 司法机关
kind-provider = 服务提供者
kind-oversight = 监督机构

issuer-judge = 法官
issuer-court = 法院
issuer-prosecutor = 检察官
issuer-investigating-authority = 侦查机关
issuer-other = 其他

category-subscriber = 用户数据
category-identification = 身份识别数据
category-traffic = 流量数据
category-content = 内容数据

identifier-ip-address = IP 地址
identifier-account = 账户
identifier-email = 电子邮件地址
identifier-phone = 电话号码
identifier-domain = 域名
identifier-other = 其他

decision-title = 决定
decision-grounds = 拒绝理由
decision-reason = 说明理由
judge-password = 您的密码，用于以您的司法密钥签署
steps-title = 后续步骤
missing-fields = 缺少的字段
clocks = 时限
clock-stopped = 已停止
timeline = 时间线

directory-title = 机关名录
directory-placeholder = 经签名的机关名录将随联邦功能一起提供。在此之前，本页显示本节点及其已知的国家概况。
directory-this-node = 本节点
directory-authority = 机关
directory-name = 名称
directory-state = 国家
directory-kind = 类型
directory-signing-key = 签名密钥
directory-age = 加密接收方
directory-profiles = 国家概况

audit-title = 审计
audit-when = 时间
audit-who = 操作人
audit-step = 操作

stats-title = 统计
stats-csv = 下载 CSV 文件
stats-chart-title = 按机制统计的请求
stats-table = 按机制和状态统计的请求
stats-count = 数量

state-draft = 草稿
state-awaiting-authorisation = 等待授权
state-authorised = 已授权
state-sent = 已发送
state-received = 已收到
state-under-review = 审查中
state-consultation = 协商中
state-executed = 已执行
state-partially-executed = 部分执行
state-postponed = 已推迟
state-refused = 已拒绝
state-active = 生效中
state-extended = 已延长
state-released = 已解除
state-expired = 已过期
state-superseded = 已被取代
state-accepted = 已接受
state-declined = 已谢绝
state-withdrawn = 已撤回
state-closed = 已结案

action-submit-for-authorisation = 提交授权
action-authorise = 授权
action-decline-authorisation = 不予授权
action-send = 发送
action-receive = 登记收到
action-begin-review = 开始审查
action-consult = 与请求国协商
action-resume-review = 恢复审查
action-execute = 执行
action-execute-partially = 部分执行
action-postpone = 推迟
action-refuse = 拒绝
action-preserve = 保全
action-extend = 延长
action-release = 解除
action-expire = 标记为过期
action-supersede = 取代
action-accept = 接受
action-decline = 谢绝
action-withdraw = 撤回
action-close = 结案

mechanism-expedited-preservation = 快速保全存储数据
mechanism-preserved-traffic-disclosure = 快速披露已保全的流量数据
mechanism-production-order = 提交令
mechanism-domain-registration-request = 域名注册信息
mechanism-subscriber-information-order = 用户信息令
mechanism-giving-effect-order = 执行另一缔约方的命令
mechanism-emergency-disclosure = 紧急披露
mechanism-mla-general = 司法协助
mechanism-mla-stored-data = 关于存储数据的司法协助
mechanism-realtime-traffic-collection = 实时收集流量数据
mechanism-interception = 截取内容数据
mechanism-spontaneous-information = 主动提供信息
mechanism-joint-investigation = 联合调查
mechanism-asset-freeze-seizure = 冻结或扣押资产
mechanism-confiscation = 没收
mechanism-asset-return = 返还资产

## Evidence on the request page
evidence = 证据
evidence-none = 暂无证据
evidence-seal = 封印
evidence-seal-bag = 已验证：每个文件均已核对
evidence-seal-statement = 已验证：签名与摘要
evidence-receipt = 回执
evidence-receipt-received = 已收到签名回执
evidence-receipt-issued = 已发送签名回执
evidence-receipt-none = 等待回执
evidence-download = 下载证据包
evidence-statement = 封印声明
evidence-from = 来自
evidence-to = 发往

## Accountability on the request page
exchange-title = 消息与回执
exchange-receipt = { $who } 签署的回执
exchange-logged = { $who } 已将其记入公开日志，叶节点 { $index }
exchange-proof = 证明（可用 comity log check-proof 核验）
exchange-proof-pending = 正在等待接收方的日志证明
records-title = 已记录的保障措施
quarantined = 已隔离：
validation = 紧急令的确认
speciality = 证据仅可用于
consents = 提供国的同意
onward-uses = 已记录的后续使用
notice = 向当事人发出的通知
checklist-concern = 存在关切
checklist-no-concern = 无关切
checklist-note = 已考虑的情况

## Accounts
nav-users = 用户
users-title = 本机关的账户
users-username = 登录名
users-name = 姓名
users-role = 角色
users-status = 状态
users-actions = 操作
users-disabled = 已停用
users-active = 有效
users-disable = 停用
users-reset = 用此密码重置
users-new-password = 新密码（至少 12 个字符）
users-add = 添加账户
users-enrolled = 账户已就绪：
users-totp-once = TOTP 密钥仅显示这一次，请输入到该用户的身份验证应用中：
