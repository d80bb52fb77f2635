# comity web UI, English. Every other language must have every message below (a test checks it).
skip-to-content = Skip to content
nav-label = Main
nav-dashboard = Dashboard
nav-new-request = New request
nav-directory = Directory
nav-statistics = Statistics
nav-audit = Audit
role-caseworker = Caseworker
role-supervisor = Supervisor
role-judge = Judge
role-admin = Administrator
role-auditor = Auditor
language = Language
language-apply = Apply
logout = Sign out
back-to-dashboard = Back to the dashboard
none = Nothing here.
created = Created
example = example

dashboard-title = Dashboard
queue-urgent = Urgent 24/7 queue
queue-incoming = Incoming
queue-outgoing = Outgoing
queue-deadlines = Deadlines
col-request = Request
col-state = State
col-urgency = Urgency
col-requested-state = Requested State
col-next-due = Next deadline

login-title = Sign in
login-username = User name
login-password = Password
login-code = Six-digit code from your authenticator
login-submit = Sign in
login-refused = The user name, password or code is wrong.
login-locked = Too many failed attempts. The account is locked until { $until }.

error-forbidden = Your role does not allow this.
error-csrf = The form has expired or did not come from this site. Reload the page and try again.
error-not-found = There is nothing here.
error-internal = Something went wrong on this node. The error has been logged.

wizard-choose = Draft a request: choose the mechanism
needs-authorisation = needs judicial authorisation
wizard-title = Draft
wizard-case = Case
wizard-basics = Basics
wizard-details = Details
wizard-check = Check
wizard-save = Save draft
wizard-need-case = Give the case reference: the draft must belong to a case.
required = (required)

findings-title = Safeguard findings
findings-blocking = { $count ->
    [one] One finding blocks sending.
   *[other] { $count } findings block sending.
}
findings-clear = No finding blocks sending.
severity-block = Blocks:
severity-warn = Warning:
severity-info = Note:

field-instrument = Instrument
field-urgency = Urgency
field-addressee-kind = Addressee kind
field-issuer = Issued by
field-offence-entry = Offence
field-offence-provision = National provision
field-offence-penalty = Maximum penalty (months)
field-data-category = Data category
field-data-description = Description of the data
field-identifier-kind = Identifier type
field-identifier-value = Identifier
field-identifier-observed = Observed at (date, time and offset)
field-confidentiality = Ask for confidentiality
field-collection-days = Collection period (days)
field-case_reference = Case reference
field-case_title = Case title
field-collection_justification = Justification of the collection period
field-assets_description = Assets
field-assets_location = Location of the assets
field-jit_members = Members of the team (comma-separated)
field-jit_duration_days = Duration (days)
field-jit_evidence_arrangements = Arrangements for evidence
field-language = Language of the request
field-requesting_authority = Requesting authority
field-requested_state = Requested State (two letters)
field-addressee = Addressee
field-domestic_legal_basis = Domestic legal basis
field-offences = Offences
field-summary_of_facts = Summary of the facts
field-data_sought = Data sought
field-relation_to_offence = Relation to the offence
field-custodian_or_location = Custodian or location of the data
field-necessity = Why preservation is needed
field-follow_up_mla_intent = A request for mutual assistance will follow
field-assistance_sought = Assistance sought
field-purpose = Purpose
field-persons_concerned = Persons concerned
field-emergency_justification = Why this is an emergency
field-collection_period = Collection period
field-preservation_reference = Reference of the preservation
field-conditions = Conditions
field-assets = Assets
field-joint_investigation = Joint investigation team

urgency-normal = Normal
urgency-urgent = Urgent
urgency-emergency = Emergency

kind-central-authority = Central authority
kind-contact-point = 24/7 point of contact
kind-judicial = Judicial authority
kind-provider = Service provider
kind-oversight = Oversight body

issuer-judge = Judge
issuer-court = Court
issuer-prosecutor = Public prosecutor
issuer-investigating-authority = Investigating authority
issuer-other = Other

category-subscriber = Subscriber data
category-identification = Identification data
category-traffic = Traffic data
category-content = Content data

identifier-ip-address = IP address
identifier-account = Account
identifier-email = E-mail address
identifier-phone = Phone number
identifier-domain = Domain name
identifier-other = Other

decision-title = Decision
decision-grounds = Grounds for refusal
decision-reason = Reasons
judge-password = Your password, to sign with your judicial key
steps-title = Next steps
missing-fields = Missing fields
clocks = Clocks
clock-stopped = stopped
timeline = Timeline

directory-title = Directory of authorities
directory-placeholder = The signed directory of authorities arrives with federation. Until then this page shows this node and the national profiles it knows.
directory-this-node = This node
directory-authority = Authority
directory-name = Name
directory-state = State
directory-kind = Kind
directory-signing-key = Signing key
directory-age = Encryption recipient
directory-profiles = National profiles

audit-title = Audit
audit-when = When
audit-who = Who
audit-step = Step

stats-title = Statistics
stats-csv = Download as CSV
stats-chart-title = Requests by mechanism
stats-table = Requests by mechanism and state
stats-count = Count

state-draft = Draft
state-awaiting-authorisation = Awaiting authorisation
state-authorised = Authorised
state-sent = Sent
state-received = Received
state-under-review = Under review
state-consultation = In consultation
state-executed = Executed
state-partially-executed = Partially executed
state-postponed = Postponed
state-refused = Refused
state-active = Active
state-extended = Extended
state-released = Released
state-expired = Expired
state-superseded = Superseded
state-accepted = Accepted
state-declined = Declined
state-withdrawn = Withdrawn
state-closed = Closed

action-submit-for-authorisation = Submit for authorisation
action-authorise = Authorise
action-decline-authorisation = Decline authorisation
action-send = Send
action-receive = Record receipt
action-begin-review = Begin review
action-consult = Consult the requesting State
action-resume-review = Resume review
action-execute = Execute
action-execute-partially = Execute in part
action-postpone = Postpone
action-refuse = Refuse
action-preserve = Preserve
action-extend = Extend
action-release = Release
action-expire = Mark expired
action-supersede = Supersede
action-accept = Accept
action-decline = Decline
action-withdraw = Withdraw
action-close = Close

mechanism-expedited-preservation = Expedited preservation of stored data
mechanism-preserved-traffic-disclosure = Expedited disclosure of preserved traffic data
mechanism-production-order = Production order
mechanism-domain-registration-request = Domain name registration information
mechanism-subscriber-information-order = Subscriber information order
mechanism-giving-effect-order = Giving effect to an order of another Party
mechanism-emergency-disclosure = Emergency disclosure
mechanism-mla-general = Mutual legal assistance
mechanism-mla-stored-data = Mutual assistance for stored data
mechanism-realtime-traffic-collection = Real-time collection of traffic data
mechanism-interception = Interception of content data
mechanism-spontaneous-information = Spontaneous information
mechanism-joint-investigation = Joint investigation
mechanism-asset-freeze-seizure = Freezing or seizure of assets
mechanism-confiscation = Confiscation
mechanism-asset-return = Return of assets

## Evidence on the request page
evidence = Evidence
evidence-none = No evidence yet
evidence-seal = Seal
evidence-seal-bag = verified: every file checked
evidence-seal-statement = verified: signature and digest
evidence-receipt = Receipt
evidence-receipt-received = signed receipt received
evidence-receipt-issued = signed receipt sent
evidence-receipt-none = awaiting receipt
evidence-download = Download package
evidence-statement = Seal statement
evidence-from = from
evidence-to = to

## Accountability on the request page
exchange-title = Messages and receipts
exchange-receipt = Signed receipt from { $who }
exchange-logged = { $who } logged it as leaf { $index } of its public log
exchange-proof = Proof (check it with comity log check-proof)
exchange-proof-pending = Waiting for the receiver’s log proof
records-title = Safeguards on record
quarantined = Quarantined:
validation = Validation of the emergency order
speciality = Evidence may serve only
consents = Consents of the providing State
onward-uses = Onward uses recorded
notice = Notice to the person concerned
checklist-concern = Concern present
checklist-no-concern = No concern
checklist-note = What was considered

## Accounts
nav-users = Users
users-title = Accounts of this authority
users-username = Login name
users-name = Name
users-role = Role
users-status = Status
users-actions = Actions
users-disabled = disabled
users-active = active
users-disable = Disable
users-reset = Reset with this password
users-new-password = New password (12 characters or more)
users-add = Add an account
users-enrolled = Account ready:
users-totp-once = TOTP secret, shown only now; enter it in the user’s authenticator app:
