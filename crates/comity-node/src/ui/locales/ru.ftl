# Веб-интерфейс comity, русский язык.
skip-to-content = Перейти к содержанию
nav-label = Основная навигация
nav-dashboard = Сводка
nav-new-request = Новый запрос
nav-directory = Справочник
nav-statistics = Статистика
nav-audit = Аудит
role-caseworker = Исполнитель
role-supervisor = Руководитель
role-judge = Судья
role-admin = Администратор
role-auditor = Контролёр
language = Язык
language-apply = Применить
logout = Выйти
back-to-dashboard = Вернуться к сводке
none = Здесь ничего нет.
created = Создан
example = пример

dashboard-title = Сводка
queue-urgent = Срочная очередь 24/7
queue-incoming = Входящие
queue-outgoing = Исходящие
queue-deadlines = Сроки
col-request = Запрос
col-state = Состояние
col-urgency = Срочность
col-requested-state = Запрашиваемое государство
col-next-due = Ближайший срок

login-title = Вход
login-username = Имя пользователя
login-password = Пароль
login-code = Шестизначный код из приложения-аутентификатора
login-submit = Войти
login-refused = Неверное имя пользователя, пароль или код.
login-locked = Слишком много неудачных попыток. Учётная запись заблокирована до { $until }.

error-forbidden = Ваша роль не позволяет это действие.
error-csrf = Срок действия формы истёк, или она отправлена не с этого сайта. Обновите страницу и повторите попытку.
error-not-found = Здесь ничего нет.
error-internal = На этом узле произошла ошибка. Она записана в журнал.

wizard-choose = Составить запрос: выберите механизм
needs-authorisation = требуется судебная санкция
wizard-title = Проект
wizard-case = Дело
wizard-basics = Основные сведения
wizard-details = Подробности
wizard-check = Проверить
wizard-save = Сохранить проект
wizard-need-case = Укажите номер дела: проект должен относиться к делу.
required = (обязательно)

findings-title = Замечания по гарантиям
findings-blocking = { $count ->
    [one] { $count } замечание препятствует отправке.
    [few] { $count } замечания препятствуют отправке.
   *[other] { $count } замечаний препятствуют отправке.
}
findings-clear = Ни одно замечание не препятствует отправке.
severity-block = Препятствие:
severity-warn = Предупреждение:
severity-info = Примечание:

field-instrument = Международный договор
field-urgency = Срочность
field-addressee-kind = Тип адресата
field-issuer = Кем выдан
field-offence-entry = Преступление
field-offence-provision = Норма национального права
field-offence-penalty = Максимальное наказание (месяцев)
field-data-category = Категория данных
field-data-description = Описание данных
field-identifier-kind = Тип идентификатора
field-identifier-value = Идентификатор
field-identifier-observed = Время наблюдения (дата, время и смещение)
field-confidentiality = Просить о конфиденциальности
field-collection-days = Срок сбора (дней)
field-case_reference = Номер дела
field-case_title = Название дела
field-collection_justification = Обоснование срока сбора
field-assets_description = Имущество
field-assets_location = Местонахождение имущества
field-jit_members = Участники группы (через запятую)
field-jit_duration_days = Срок (дней)
field-jit_evidence_arrangements = Порядок обращения с доказательствами
field-language = Язык запроса
field-requesting_authority = Запрашивающий орган
field-requested_state = Запрашиваемое государство (две буквы)
field-addressee = Адресат
field-domestic_legal_basis = Правовое основание по национальному праву
field-offences = Преступления
field-summary_of_facts = Краткое изложение фактов
field-data_sought = Запрашиваемые данные
field-relation_to_offence = Связь с преступлением
field-custodian_or_location = Держатель или местонахождение данных
field-necessity = Почему необходимо сохранение
field-follow_up_mla_intent = Последует запрос о правовой помощи
field-assistance_sought = Запрашиваемая помощь
field-purpose = Цель
field-persons_concerned = Затрагиваемые лица
field-emergency_justification = Почему это чрезвычайная ситуация
field-collection_period = Срок сбора
field-preservation_reference = Номер запроса о сохранении
field-conditions = Условия
field-assets = Имущество
field-joint_investigation = Совместная следственная группа

urgency-normal = Обычная
urgency-urgent = Срочно
urgency-emergency = Чрезвычайная ситуация

kind-central-authority = Центральный орган
kind-contact-point = Контактный пункт 24/7
kind-judicial = Судебный орган
kind-provider = Поставщик услуг
kind-oversight = Надзорный орган

issuer-judge = Судья
issuer-court = Суд
issuer-prosecutor = Прокурор
issuer-investigating-authority = Следственный орган
issuer-other = Иное

category-subscriber = Данные об абонентах
category-identification = Идентификационные данные
category-traffic = Данные о трафике
category-content = Данные о содержании

identifier-ip-address = IP-адрес
identifier-account = Учётная запись
identifier-email = Адрес электронной почты
identifier-phone = Номер телефона
identifier-domain = Доменное имя
identifier-other = Иное

decision-title = Решение
decision-grounds = Основания для отказа
decision-reason = Мотивировка
judge-password = Ваш пароль для подписи вашим ключом судьи
steps-title = Дальнейшие действия
missing-fields = Незаполненные поля
clocks = Сроки
clock-stopped = остановлен
timeline = Хронология

directory-title = Справочник органов
directory-placeholder = Подписанный справочник органов появится вместе с федерацией. До тех пор на этой странице показаны этот узел и известные ему национальные профили.
directory-this-node = Этот узел
directory-authority = Орган
directory-name = Название
directory-state = Государство
directory-kind = Тип
directory-signing-key = Ключ подписи
directory-age = Получатель шифрования
directory-profiles = Национальные профили

audit-title = Аудит
audit-when = Когда
audit-who = Кто
audit-step = Действие

stats-title = Статистика
stats-csv = Скачать в формате CSV
stats-chart-title = Запросы по механизмам
stats-table = Запросы по механизмам и состояниям
stats-count = Количество

state-draft = Проект
state-awaiting-authorisation = Ожидает санкции
state-authorised = Санкционирован
state-sent = Отправлен
state-received = Получен
state-under-review = На рассмотрении
state-consultation = Консультации
state-executed = Исполнен
state-partially-executed = Исполнен частично
state-postponed = Отложен
state-refused = Отказано
state-active = Действует
state-extended = Продлён
state-released = Снят
state-expired = Истёк
state-superseded = Заменён
state-accepted = Принят
state-declined = Отклонён
state-withdrawn = Отозван
state-closed = Закрыт

action-submit-for-authorisation = Направить на санкцию
action-authorise = Санкционировать
action-decline-authorisation = Отказать в санкции
action-send = Отправить
action-receive = Зарегистрировать получение
action-begin-review = Начать рассмотрение
action-consult = Провести консультации с запрашивающим государством
action-resume-review = Возобновить рассмотрение
action-execute = Исполнить
action-execute-partially = Исполнить частично
action-postpone = Отложить
action-refuse = Отказать
action-preserve = Сохранить
action-extend = Продлить
action-release = Снять
action-expire = Отметить как истёкший
action-supersede = Заменить
action-accept = Принять
action-decline = Отклонить
action-withdraw = Отозвать
action-close = Закрыть

mechanism-expedited-preservation = Оперативное обеспечение сохранности хранимых данных
mechanism-preserved-traffic-disclosure = Оперативное раскрытие сохранённых данных о трафике
mechanism-production-order = Распоряжение о предоставлении
mechanism-domain-registration-request = Сведения о регистрации доменных имён
mechanism-subscriber-information-order = Распоряжение о предоставлении сведений об абонентах
mechanism-giving-effect-order = Исполнение распоряжения другой Стороны
mechanism-emergency-disclosure = Раскрытие в чрезвычайной ситуации
mechanism-mla-general = Взаимная правовая помощь
mechanism-mla-stored-data = Взаимная помощь в отношении хранимых данных
mechanism-realtime-traffic-collection = Сбор данных о трафике в режиме реального времени
mechanism-interception = Перехват данных о содержании
mechanism-spontaneous-information = Информация, предоставляемая по собственной инициативе
mechanism-joint-investigation = Совместное расследование
mechanism-asset-freeze-seizure = Замораживание или арест имущества
mechanism-confiscation = Конфискация
mechanism-asset-return = Возвращение имущества

## Evidence on the request page
evidence = Доказательства
evidence-none = Доказательств пока нет
evidence-seal = Печать
evidence-seal-bag = проверено: каждый файл
evidence-seal-statement = проверено: подпись и хеш
evidence-receipt = Квитанция
evidence-receipt-received = подписанная квитанция получена
evidence-receipt-issued = подписанная квитанция отправлена
evidence-receipt-none = ожидается квитанция
evidence-download = Скачать пакет
evidence-statement = Заявление о печати
evidence-from = от
evidence-to = для

## Accountability on the request page
exchange-title = Сообщения и подтверждения получения
exchange-receipt = Подписанное подтверждение от { $who }
exchange-logged = { $who } записал его как лист { $index } своего открытого журнала
exchange-proof = Доказательство (проверьте командой comity log check-proof)
exchange-proof-pending = Ожидается доказательство из журнала получателя
records-title = Зафиксированные гарантии
quarantined = На карантине:
validation = Подтверждение срочного распоряжения
speciality = Доказательства могут использоваться только для
consents = Согласия предоставляющего государства
onward-uses = Зафиксированное дальнейшее использование
notice = Уведомление затронутого лица
checklist-concern = Есть основания для опасения
checklist-no-concern = Оснований для опасения нет
checklist-note = Что было рассмотрено

## Accounts
nav-users = Пользователи
users-title = Учётные записи этого органа
users-username = Имя входа
users-name = Имя
users-role = Роль
users-status = Состояние
users-actions = Действия
users-disabled = отключена
users-active = активна
users-disable = Отключить
users-reset = Сбросить с этим паролем
users-new-password = Новый пароль (не менее 12 символов)
users-add = Добавить учётную запись
users-enrolled = Учётная запись готова:
users-totp-once = Секрет TOTP показывается только сейчас; введите его в приложение-аутентификатор пользователя:
