# واجهة comity على الويب، باللغة العربية.
skip-to-content = الانتقال إلى المحتوى
nav-label = التنقل الرئيسي
nav-dashboard = لوحة المتابعة
nav-new-request = طلب جديد
nav-directory = الدليل
nav-statistics = الإحصاءات
nav-audit = سجل التدقيق
role-caseworker = موظف معالجة
role-supervisor = مشرف
role-judge = قاضٍ
role-admin = مسؤول النظام
role-auditor = مدقق
language = اللغة
language-apply = تطبيق
logout = تسجيل الخروج
back-to-dashboard = العودة إلى لوحة المتابعة
none = لا يوجد شيء هنا.
created = تاريخ الإنشاء
example = مثال

dashboard-title = لوحة المتابعة
queue-urgent = قائمة الطوارئ على مدار الساعة
queue-incoming = الطلبات الواردة
queue-outgoing = الطلبات الصادرة
queue-deadlines = المواعيد النهائية
col-request = الطلب
col-state = الحالة
col-urgency = درجة الاستعجال
col-requested-state = الدولة المطلوب منها
col-next-due = أقرب موعد نهائي

login-title = تسجيل الدخول
login-username = اسم المستخدم
login-password = كلمة المرور
login-code = الرمز المكوّن من ستة أرقام من تطبيق المصادقة
login-submit = دخول
login-refused = اسم المستخدم أو كلمة المرور أو الرمز غير صحيح.
login-locked = محاولات فاشلة كثيرة. الحساب مقفل حتى { $until }.

error-forbidden = دورك لا يسمح بهذا الإجراء.
error-csrf = انتهت صلاحية النموذج أو لم يصدر عن هذا الموقع. أعد تحميل الصفحة وحاول مرة أخرى.
error-not-found = لا يوجد شيء هنا.
error-internal = حدث خطأ في هذه العقدة وتم تسجيله.

wizard-choose = صياغة طلب: اختر الآلية
needs-authorisation = يتطلب إذنًا قضائيًا
wizard-title = مسودة
wizard-case = القضية
wizard-basics = المعلومات الأساسية
wizard-details = التفاصيل
wizard-check = تحقق
wizard-save = حفظ المسودة
wizard-need-case = أدخل مرجع القضية: يجب أن تنتمي المسودة إلى قضية.
required = (إلزامي)

findings-title = نتائج فحص الضمانات
findings-blocking = { $count ->
    [one] نتيجة واحدة تمنع الإرسال.
    [two] نتيجتان تمنعان الإرسال.
    [many] { $count } نتيجة تمنع الإرسال.
   *[other] { $count } نتائج تمنع الإرسال.
}
findings-clear = لا توجد نتيجة تمنع الإرسال.
severity-block = مانع:
severity-warn = تحذير:
severity-info = ملاحظة:

field-instrument = الصك القانوني
field-urgency = درجة الاستعجال
field-addressee-kind = نوع الجهة المرسل إليها
field-issuer = الجهة المُصدِرة
field-offence-entry = الجريمة
field-offence-provision = النص القانوني الوطني
field-offence-penalty = العقوبة القصوى (بالأشهر)
field-data-category = فئة البيانات
field-data-description = وصف البيانات
field-identifier-kind = نوع المُعرِّف
field-identifier-value = المُعرِّف
field-identifier-observed = وقت الرصد (التاريخ والوقت وفارق التوقيت)
field-confidentiality = طلب السرية
field-collection-days = مدة الجمع (بالأيام)
field-case_reference = مرجع القضية
field-case_title = عنوان القضية
field-collection_justification = مبررات مدة الجمع
field-assets_description = الأصول
field-assets_location = مكان الأصول
field-jit_members = أعضاء الفريق (مفصولون بفواصل)
field-jit_duration_days = المدة (بالأيام)
field-jit_evidence_arrangements = الترتيبات الخاصة بالأدلة
field-language = لغة الطلب
field-requesting_authority = السلطة الطالبة
field-requested_state = الدولة المطلوب منها (حرفان)
field-addressee = الجهة المرسل إليها
field-domestic_legal_basis = الأساس القانوني الوطني
field-offences = الجرائم
field-summary_of_facts = ملخص الوقائع
field-data_sought = البيانات المطلوبة
field-relation_to_offence = الصلة بالجريمة
field-custodian_or_location = حائز البيانات أو مكانها
field-necessity = سبب ضرورة الحفظ
field-follow_up_mla_intent = سيتبع ذلك طلب مساعدة قانونية متبادلة
field-assistance_sought = المساعدة المطلوبة
field-purpose = الغرض
field-persons_concerned = الأشخاص المعنيون
field-emergency_justification = سبب اعتبار الحالة طارئة
field-collection_period = مدة الجمع
field-preservation_reference = مرجع طلب الحفظ
field-conditions = الشروط
field-assets = الأصول
field-joint_investigation = فريق التحقيق المشترك

urgency-normal = عادي
urgency-urgent = مستعجل
urgency-emergency = حالة طوارئ

kind-central-authority = السلطة المركزية
kind-contact-point = نقطة الاتصال على مدار الساعة
kind-judicial = سلطة قضائية
kind-provider = مقدم خدمات
kind-oversight = هيئة رقابية

issuer-judge = قاضٍ
issuer-court = محكمة
issuer-prosecutor = مدعٍ عام
issuer-investigating-authority = سلطة تحقيق
issuer-other = غير ذلك

category-subscriber = بيانات المشتركين
category-identification = بيانات تحديد الهوية
category-traffic = بيانات الحركة
category-content = بيانات المحتوى

identifier-ip-address = عنوان IP
identifier-account = حساب
identifier-email = عنوان البريد الإلكتروني
identifier-phone = رقم الهاتف
identifier-domain = اسم النطاق
identifier-other = غير ذلك

decision-title = القرار
decision-grounds = أسباب الرفض
decision-reason = التعليل
judge-password = كلمة المرور الخاصة بك للتوقيع بمفتاحك القضائي
steps-title = الخطوات التالية
missing-fields = الحقول الناقصة
clocks = المهل
clock-stopped = متوقفة
timeline = التسلسل الزمني

directory-title = دليل السلطات
directory-placeholder = سيصدر دليل السلطات الموقَّع مع خاصية الاتحاد. وحتى ذلك الحين تعرض هذه الصفحة هذه العقدة والملفات الوطنية المعروفة لديها.
directory-this-node = هذه العقدة
directory-authority = السلطة
directory-name = الاسم
directory-state = الدولة
directory-kind = النوع
directory-signing-key = مفتاح التوقيع
directory-age = مستلم التشفير
directory-profiles = الملفات الوطنية

audit-title = سجل التدقيق
audit-when = متى
audit-who = من
audit-step = الإجراء

stats-title = الإحصاءات
stats-csv = تنزيل بصيغة CSV
stats-chart-title = الطلبات حسب الآلية
stats-table = الطلبات حسب الآلية والحالة
stats-count = العدد

state-draft = مسودة
state-awaiting-authorisation = بانتظار الإذن
state-authorised = مأذون به
state-sent = مُرسَل
state-received = مُستلَم
state-under-review = قيد الدراسة
state-consultation = قيد التشاور
state-executed = منفَّذ
state-partially-executed = منفَّذ جزئيًا
state-postponed = مؤجَّل
state-refused = مرفوض
state-active = سارٍ
state-extended = ممدَّد
state-released = مرفوع
state-expired = منتهي المدة
state-superseded = مستبدَل
state-accepted = مقبول
state-declined = معتذَر عنه
state-withdrawn = مسحوب
state-closed = مغلق

action-submit-for-authorisation = تقديم لطلب الإذن
action-authorise = إذن
action-decline-authorisation = رفض الإذن
action-send = إرسال
action-receive = تسجيل الاستلام
action-begin-review = بدء الدراسة
action-consult = التشاور مع الدولة الطالبة
action-resume-review = استئناف الدراسة
action-execute = تنفيذ
action-execute-partially = تنفيذ جزئي
action-postpone = تأجيل
action-refuse = رفض
action-preserve = حفظ
action-extend = تمديد
action-release = رفع
action-expire = وسم بانتهاء المدة
action-supersede = استبدال
action-accept = قبول
action-decline = اعتذار
action-withdraw = سحب
action-close = إغلاق

mechanism-expedited-preservation = الحفظ العاجل للبيانات المخزنة
mechanism-preserved-traffic-disclosure = الكشف العاجل عن بيانات الحركة المحفوظة
mechanism-production-order = أمر تقديم
mechanism-domain-registration-request = معلومات تسجيل أسماء النطاقات
mechanism-subscriber-information-order = أمر بتقديم معلومات المشتركين
mechanism-giving-effect-order = إنفاذ أمر صادر عن طرف آخر
mechanism-emergency-disclosure = الكشف في حالات الطوارئ
mechanism-mla-general = المساعدة القانونية المتبادلة
mechanism-mla-stored-data = المساعدة المتبادلة بشأن البيانات المخزنة
mechanism-realtime-traffic-collection = جمع بيانات الحركة في الوقت الحقيقي
mechanism-interception = اعتراض بيانات المحتوى
mechanism-spontaneous-information = المعلومات التلقائية
mechanism-joint-investigation = التحقيق المشترك
mechanism-asset-freeze-seizure = تجميد الأصول أو حجزها
mechanism-confiscation = المصادرة
mechanism-asset-return = إعادة الأصول

## Evidence on the request page
evidence = الأدلة
evidence-none = لا توجد أدلة بعد
evidence-seal = الختم
evidence-seal-bag = تم التحقق: فُحص كل ملف
evidence-seal-statement = تم التحقق: التوقيع والبصمة
evidence-receipt = الإيصال
evidence-receipt-received = تم استلام إيصال موقّع
evidence-receipt-issued = تم إرسال إيصال موقّع
evidence-receipt-none = بانتظار الإيصال
evidence-download = تنزيل الحزمة
evidence-statement = بيان الختم
evidence-from = من
evidence-to = إلى

## Accountability on the request page
exchange-title = الرسائل وإشعارات الاستلام
exchange-receipt = إشعار استلام موقّع من { $who }
exchange-logged = سجّلها { $who } بوصفها الورقة { $index } في سجله العام
exchange-proof = الإثبات (تحقق منه بالأمر comity log check-proof)
exchange-proof-pending = في انتظار إثبات سجل الجهة المستلمة
records-title = الضمانات المسجلة
quarantined = في الحجر:
validation = المصادقة على الأمر العاجل
speciality = لا يجوز استخدام الأدلة إلا في
consents = موافقات الدولة المقدِّمة
onward-uses = الاستخدامات اللاحقة المسجلة
notice = إخطار الشخص المعني
checklist-concern = يوجد ما يدعو إلى القلق
checklist-no-concern = لا يوجد ما يدعو إلى القلق
checklist-note = ما تم النظر فيه

## Accounts
nav-users = المستخدمون
users-title = حسابات هذه السلطة
users-username = اسم الدخول
users-name = الاسم
users-role = الدور
users-status = الحالة
users-actions = الإجراءات
users-disabled = معطّل
users-active = نشط
users-disable = تعطيل
users-reset = إعادة التعيين بكلمة المرور هذه
users-new-password = كلمة مرور جديدة (12 حرفًا على الأقل)
users-add = إضافة حساب
users-enrolled = الحساب جاهز:
users-totp-once = سر TOTP يظهر الآن فقط؛ أدخله في تطبيق المصادقة الخاص بالمستخدم:
