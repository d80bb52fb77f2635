# Interfaz web de comity, español.
skip-to-content = Ir al contenido
nav-label = Navegación principal
nav-dashboard = Panel
nav-new-request = Nueva solicitud
nav-directory = Directorio
nav-statistics = Estadísticas
nav-audit = Auditoría
role-caseworker = Tramitador
role-supervisor = Supervisor
role-judge = Juez
role-admin = Administrador
role-auditor = Auditor
language = Idioma
language-apply = Aplicar
logout = Cerrar sesión
back-to-dashboard = Volver al panel
none = No hay nada aquí.
created = Creada
example = ejemplo

dashboard-title = Panel
queue-urgent = Cola urgente 24/7
queue-incoming = Recibidas
queue-outgoing = Enviadas
queue-deadlines = Plazos
col-request = Solicitud
col-state = Estado
col-urgency = Urgencia
col-requested-state = Estado requerido
col-next-due = Próximo plazo

login-title = Iniciar sesión
login-username = Nombre de usuario
login-password = Contraseña
login-code = Código de seis dígitos de su aplicación de autenticación
login-submit = Entrar
login-refused = El nombre de usuario, la contraseña o el código no son correctos.
login-locked = Demasiados intentos fallidos. La cuenta está bloqueada hasta el { $until }.

error-forbidden = Su función no permite esta acción.
error-csrf = El formulario ha caducado o no procede de este sitio. Vuelva a cargar la página e inténtelo de nuevo.
error-not-found = No hay nada aquí.
error-internal = Se produjo un error en este nodo. Ha quedado registrado.

wizard-choose = Redactar una solicitud: elija el mecanismo
needs-authorisation = requiere autorización judicial
wizard-title = Borrador
wizard-case = Causa
wizard-basics = Datos básicos
wizard-details = Detalles
wizard-check = Comprobar
wizard-save = Guardar borrador
wizard-need-case = Indique la referencia de la causa: el borrador debe pertenecer a una causa.
required = (obligatorio)

findings-title = Observaciones sobre garantías
findings-blocking = { $count ->
    [one] Una observación impide el envío.
   *[other] { $count } observaciones impiden el envío.
}
findings-clear = Ninguna observación impide el envío.
severity-block = Bloquea:
severity-warn = Advertencia:
severity-info = Nota:

field-instrument = Instrumento
field-urgency = Urgencia
field-addressee-kind = Tipo de destinatario
field-issuer = Emitida por
field-offence-entry = Delito
field-offence-provision = Disposición nacional
field-offence-penalty = Pena máxima (meses)
field-data-category = Categoría de datos
field-data-description = Descripción de los datos
field-identifier-kind = Tipo de identificador
field-identifier-value = Identificador
field-identifier-observed = Observado el (fecha, hora y desfase)
field-confidentiality = Solicitar confidencialidad
field-collection-days = Período de obtención (días)
field-case_reference = Referencia de la causa
field-case_title = Título de la causa
field-collection_justification = Justificación del período de obtención
field-assets_description = Bienes
field-assets_location = Ubicación de los bienes
field-jit_members = Miembros del equipo (separados por comas)
field-jit_duration_days = Duración (días)
field-jit_evidence_arrangements = Disposiciones sobre las pruebas
field-language = Idioma de la solicitud
field-requesting_authority = Autoridad requirente
field-requested_state = Estado requerido (dos letras)
field-addressee = Destinatario
field-domestic_legal_basis = Fundamento jurídico nacional
field-offences = Delitos
field-summary_of_facts = Resumen de los hechos
field-data_sought = Datos solicitados
field-relation_to_offence = Relación con el delito
field-custodian_or_location = Custodio o ubicación de los datos
field-necessity = Por qué es necesaria la conservación
field-follow_up_mla_intent = Se presentará una solicitud de asistencia judicial
field-assistance_sought = Asistencia solicitada
field-purpose = Finalidad
field-persons_concerned = Personas afectadas
field-emergency_justification = Por qué se trata de una emergencia
field-collection_period = Período de obtención
field-preservation_reference = Referencia de la conservación
field-conditions = Condiciones
field-assets = Bienes
field-joint_investigation = Equipo conjunto de investigación

urgency-normal = Normal
urgency-urgent = Urgente
urgency-emergency = Emergencia

kind-central-authority = Autoridad central
kind-contact-point = Punto de contacto 24/7
kind-judicial = Autoridad judicial
kind-provider = Proveedor de servicios
kind-oversight = Órgano de supervisión

issuer-judge = Juez
issuer-court = Tribunal
issuer-prosecutor = Fiscal
issuer-investigating-authority = Autoridad de investigación
issuer-other = Otro

category-subscriber = Datos de abonados
category-identification = Datos de identificación
category-traffic = Datos de tráfico
category-content = Datos de contenido

identifier-ip-address = Dirección IP
identifier-account = Cuenta
identifier-email = Correo electrónico
identifier-phone = Número de teléfono
identifier-domain = Nombre de dominio
identifier-other = Otro

decision-title = Decisión
decision-grounds = Motivos de denegación
decision-reason = Motivación
judge-password = Su contraseña, para firmar con su clave judicial
steps-title = Próximos pasos
missing-fields = Campos que faltan
clocks = Plazos en curso
clock-stopped = detenido
timeline = Cronología

directory-title = Directorio de autoridades
directory-placeholder = El directorio firmado de autoridades llegará con la federación. Mientras tanto, esta página muestra este nodo y los perfiles nacionales que conoce.
directory-this-node = Este nodo
directory-authority = Autoridad
directory-name = Nombre
directory-state = Estado
directory-kind = Tipo
directory-signing-key = Clave de firma
directory-age = Destinatario de cifrado
directory-profiles = Perfiles nacionales

audit-title = Auditoría
audit-when = Cuándo
audit-who = Quién
audit-step = Paso

stats-title = Estadísticas
stats-csv = Descargar en CSV
stats-chart-title = Solicitudes por mecanismo
stats-table = Solicitudes por mecanismo y estado
stats-count = Cantidad

state-draft = Borrador
state-awaiting-authorisation = Pendiente de autorización
state-authorised = Autorizada
state-sent = Enviada
state-received = Recibida
state-under-review = En examen
state-consultation = En consulta
state-executed = Ejecutada
state-partially-executed = Ejecutada parcialmente
state-postponed = Aplazada
state-refused = Denegada
state-active = Vigente
state-extended = Prorrogada
state-released = Levantada
state-expired = Vencida
state-superseded = Sustituida
state-accepted = Aceptada
state-declined = Rechazada
state-withdrawn = Retirada
state-closed = Cerrada

action-submit-for-authorisation = Someter a autorización
action-authorise = Autorizar
action-decline-authorisation = Denegar la autorización
action-send = Enviar
action-receive = Registrar la recepción
action-begin-review = Iniciar el examen
action-consult = Consultar al Estado requirente
action-resume-review = Reanudar el examen
action-execute = Ejecutar
action-execute-partially = Ejecutar en parte
action-postpone = Aplazar
action-refuse = Denegar
action-preserve = Conservar
action-extend = Prorrogar
action-release = Levantar
action-expire = Marcar como vencida
action-supersede = Sustituir
action-accept = Aceptar
action-decline = Rechazar
action-withdraw = Retirar
action-close = Cerrar

mechanism-expedited-preservation = Conservación rápida de datos almacenados
mechanism-preserved-traffic-disclosure = Revelación rápida de datos de tráfico conservados
mechanism-production-order = Orden de presentación
mechanism-domain-registration-request = Información sobre el registro de nombres de dominio
mechanism-subscriber-information-order = Orden sobre información de abonados
mechanism-giving-effect-order = Ejecución de una orden de otra Parte
mechanism-emergency-disclosure = Revelación en caso de emergencia
mechanism-mla-general = Asistencia judicial recíproca
mechanism-mla-stored-data = Asistencia recíproca sobre datos almacenados
mechanism-realtime-traffic-collection = Obtención en tiempo real de datos de tráfico
mechanism-interception = Interceptación de datos de contenido
mechanism-spontaneous-information = Información espontánea
mechanism-joint-investigation = Investigación conjunta
mechanism-asset-freeze-seizure = Embargo preventivo o incautación de bienes
mechanism-confiscation = Decomiso
mechanism-asset-return = Restitución de bienes

## Evidence on the request page
evidence = Pruebas
evidence-none = Aún no hay pruebas
evidence-seal = Sello
evidence-seal-bag = verificado: cada archivo comprobado
evidence-seal-statement = verificado: firma y huella
evidence-receipt = Acuse de recibo
evidence-receipt-received = acuse firmado recibido
evidence-receipt-issued = acuse firmado enviado
evidence-receipt-none = en espera de acuse
evidence-download = Descargar el paquete
evidence-statement = Declaración de sellado
evidence-from = de parte de
evidence-to = para

## Accountability on the request page
exchange-title = Mensajes y acuses de recibo
exchange-receipt = Acuse de recibo firmado por { $who }
exchange-logged = { $who } lo registró como hoja { $index } de su registro público
exchange-proof = Prueba (verifíquela con comity log check-proof)
exchange-proof-pending = A la espera de la prueba del registro del destinatario
records-title = Salvaguardias registradas
quarantined = En cuarentena:
validation = Validación de la orden de emergencia
speciality = Las pruebas solo pueden servir para
consents = Consentimientos del Estado que proporciona
onward-uses = Usos ulteriores registrados
notice = Notificación a la persona afectada
checklist-concern = Existe una preocupación
checklist-no-concern = Ninguna preocupación
checklist-note = Elementos considerados

## Accounts
nav-users = Usuarios
users-title = Cuentas de esta autoridad
users-username = Nombre de usuario
users-name = Nombre
users-role = Función
users-status = Estado
users-actions = Acciones
users-disabled = desactivada
users-active = activa
users-disable = Desactivar
users-reset = Restablecer con esta contraseña
users-new-password = Nueva contraseña (12 caracteres como mínimo)
users-add = Añadir una cuenta
users-enrolled = Cuenta lista:
users-totp-once = Secreto TOTP, que solo se muestra ahora; introdúzcalo en la aplicación de autenticación del usuario:
