# Interface web de comity, français.
skip-to-content = Aller au contenu
nav-label = Navigation principale
nav-dashboard = Tableau de bord
nav-new-request = Nouvelle demande
nav-directory = Annuaire
nav-statistics = Statistiques
nav-audit = Journal d'audit
role-caseworker = Agent traitant
role-supervisor = Superviseur
role-judge = Juge
role-admin = Administrateur
role-auditor = Contrôleur
language = Langue
language-apply = Appliquer
logout = Se déconnecter
back-to-dashboard = Retour au tableau de bord
none = Rien ici.
created = Créée le
example = exemple

dashboard-title = Tableau de bord
queue-urgent = File d'urgence 24/7
queue-incoming = Demandes reçues
queue-outgoing = Demandes émises
queue-deadlines = Échéances
col-request = Demande
col-state = État
col-urgency = Urgence
col-requested-state = État requis
col-next-due = Prochaine échéance

login-title = Connexion
login-username = Nom d'utilisateur
login-password = Mot de passe
login-code = Code à six chiffres de votre application d'authentification
login-submit = Se connecter
login-refused = Le nom d'utilisateur, le mot de passe ou le code est incorrect.
login-locked = Trop de tentatives échouées. Le compte est verrouillé jusqu'au { $until }.

error-forbidden = Votre rôle ne permet pas cette action.
error-csrf = Le formulaire a expiré ou ne provient pas de ce site. Rechargez la page et réessayez.
error-not-found = Il n'y a rien ici.
error-internal = Une erreur s'est produite sur ce nœud. Elle a été consignée.

wizard-choose = Rédiger une demande : choisissez le mécanisme
needs-authorisation = autorisation judiciaire requise
wizard-title = Projet
wizard-case = Affaire
wizard-basics = Informations de base
wizard-details = Détails
wizard-check = Vérifier
wizard-save = Enregistrer le projet
wizard-need-case = Indiquez la référence de l'affaire : le projet doit appartenir à une affaire.
required = (obligatoire)

findings-title = Constats de garanties
findings-blocking = { $count ->
    [one] Un constat bloque l'envoi.
   *[other] { $count } constats bloquent l'envoi.
}
findings-clear = Aucun constat ne bloque l'envoi.
severity-block = Bloquant :
severity-warn = Avertissement :
severity-info = Remarque :

field-instrument = Instrument
field-urgency = Urgence
field-addressee-kind = Type de destinataire
field-issuer = Émise par
field-offence-entry = Infraction
field-offence-provision = Disposition nationale
field-offence-penalty = Peine maximale (mois)
field-data-category = Catégorie de données
field-data-description = Description des données
field-identifier-kind = Type d'identifiant
field-identifier-value = Identifiant
field-identifier-observed = Observé le (date, heure et décalage)
field-confidentiality = Demander la confidentialité
field-collection-days = Durée de collecte (jours)
field-case_reference = Référence de l'affaire
field-case_title = Intitulé de l'affaire
field-collection_justification = Justification de la durée de collecte
field-assets_description = Avoirs
field-assets_location = Localisation des avoirs
field-jit_members = Membres de l'équipe (séparés par des virgules)
field-jit_duration_days = Durée (jours)
field-jit_evidence_arrangements = Modalités relatives aux preuves
field-language = Langue de la demande
field-requesting_authority = Autorité requérante
field-requested_state = État requis (deux lettres)
field-addressee = Destinataire
field-domestic_legal_basis = Base juridique nationale
field-offences = Infractions
field-summary_of_facts = Exposé des faits
field-data_sought = Données recherchées
field-relation_to_offence = Lien avec l'infraction
field-custodian_or_location = Détenteur ou emplacement des données
field-necessity = Pourquoi la conservation est nécessaire
field-follow_up_mla_intent = Une demande d'entraide suivra
field-assistance_sought = Entraide sollicitée
field-purpose = Finalité
field-persons_concerned = Personnes concernées
field-emergency_justification = Pourquoi il s'agit d'une urgence
field-collection_period = Durée de collecte
field-preservation_reference = Référence de la conservation
field-conditions = Conditions
field-assets = Avoirs
field-joint_investigation = Équipe commune d'enquête

urgency-normal = Normale
urgency-urgent = Urgente
urgency-emergency = Extrême urgence

kind-central-authority = Autorité centrale
kind-contact-point = Point de contact 24/7
kind-judicial = Autorité judiciaire
kind-provider = Fournisseur de services
kind-oversight = Organe de contrôle

issuer-judge = Juge
issuer-court = Tribunal
issuer-prosecutor = Procureur
issuer-investigating-authority = Autorité d'enquête
issuer-other = Autre

category-subscriber = Données relatives aux abonnés
category-identification = Données d'identification
category-traffic = Données relatives au trafic
category-content = Données relatives au contenu

identifier-ip-address = Adresse IP
identifier-account = Compte
identifier-email = Adresse électronique
identifier-phone = Numéro de téléphone
identifier-domain = Nom de domaine
identifier-other = Autre

decision-title = Décision
decision-grounds = Motifs de refus
decision-reason = Motivation
judge-password = Votre mot de passe, pour signer avec votre clé de magistrat
steps-title = Étapes suivantes
missing-fields = Champs manquants
clocks = Délais
clock-stopped = arrêté
timeline = Chronologie

directory-title = Annuaire des autorités
directory-placeholder = L'annuaire signé des autorités arrivera avec la fédération. En attendant, cette page présente ce nœud et les profils nationaux qu'il connaît.
directory-this-node = Ce nœud
directory-authority = Autorité
directory-name = Nom
directory-state = État
directory-kind = Type
directory-signing-key = Clé de signature
directory-age = Destinataire de chiffrement
directory-profiles = Profils nationaux

audit-title = Journal d'audit
audit-when = Quand
audit-who = Qui
audit-step = Étape

stats-title = Statistiques
stats-csv = Télécharger au format CSV
stats-chart-title = Demandes par mécanisme
stats-table = Demandes par mécanisme et par état
stats-count = Nombre

state-draft = Projet
state-awaiting-authorisation = En attente d'autorisation
state-authorised = Autorisée
state-sent = Envoyée
state-received = Reçue
state-under-review = En cours d'examen
state-consultation = En consultation
state-executed = Exécutée
state-partially-executed = Partiellement exécutée
state-postponed = Différée
state-refused = Refusée
state-active = Active
state-extended = Prolongée
state-released = Levée
state-expired = Expirée
state-superseded = Remplacée
state-accepted = Acceptée
state-declined = Déclinée
state-withdrawn = Retirée
state-closed = Clôturée

action-submit-for-authorisation = Soumettre pour autorisation
action-authorise = Autoriser
action-decline-authorisation = Refuser l'autorisation
action-send = Envoyer
action-receive = Enregistrer la réception
action-begin-review = Commencer l'examen
action-consult = Consulter l'État requérant
action-resume-review = Reprendre l'examen
action-execute = Exécuter
action-execute-partially = Exécuter en partie
action-postpone = Différer
action-refuse = Refuser
action-preserve = Conserver
action-extend = Prolonger
action-release = Lever
action-expire = Marquer comme expirée
action-supersede = Remplacer
action-accept = Accepter
action-decline = Décliner
action-withdraw = Retirer
action-close = Clôturer

mechanism-expedited-preservation = Conservation rapide de données stockées
mechanism-preserved-traffic-disclosure = Divulgation rapide de données relatives au trafic conservées
mechanism-production-order = Injonction de production
mechanism-domain-registration-request = Informations sur l'enregistrement de noms de domaine
mechanism-subscriber-information-order = Injonction relative aux informations sur les abonnés
mechanism-giving-effect-order = Mise à exécution d'une injonction d'une autre Partie
mechanism-emergency-disclosure = Divulgation en situation d'urgence
mechanism-mla-general = Entraide judiciaire
mechanism-mla-stored-data = Entraide concernant des données stockées
mechanism-realtime-traffic-collection = Collecte en temps réel de données relatives au trafic
mechanism-interception = Interception de données relatives au contenu
mechanism-spontaneous-information = Information spontanée
mechanism-joint-investigation = Enquête commune
mechanism-asset-freeze-seizure = Gel ou saisie d'avoirs
mechanism-confiscation = Confiscation
mechanism-asset-return = Restitution d'avoirs

## Evidence on the request page
evidence = Preuves
evidence-none = Aucune preuve pour l'instant
evidence-seal = Scellé
evidence-seal-bag = vérifié : chaque fichier contrôlé
evidence-seal-statement = vérifié : signature et empreinte
evidence-receipt = Accusé de réception
evidence-receipt-received = accusé signé reçu
evidence-receipt-issued = accusé signé envoyé
evidence-receipt-none = en attente d'accusé
evidence-download = Télécharger le paquet
evidence-statement = Déclaration de scellé
evidence-from = de
evidence-to = à

## Accountability on the request page
exchange-title = Messages et accusés de réception
exchange-receipt = Accusé de réception signé par { $who }
exchange-logged = { $who } l’a inscrit comme feuille { $index } de son journal public
exchange-proof = Preuve (à vérifier avec comity log check-proof)
exchange-proof-pending = En attente de la preuve du journal du destinataire
records-title = Garanties consignées
quarantined = En quarantaine :
validation = Validation de l’injonction d’urgence
speciality = Les preuves ne peuvent servir qu’à
consents = Consentements de l’État qui fournit
onward-uses = Utilisations ultérieures consignées
notice = Information de la personne concernée
checklist-concern = Préoccupation constatée
checklist-no-concern = Aucune préoccupation
checklist-note = Éléments examinés

## Accounts
nav-users = Utilisateurs
users-title = Comptes de cette autorité
users-username = Identifiant
users-name = Nom
users-role = Rôle
users-status = État
users-actions = Actions
users-disabled = désactivé
users-active = actif
users-disable = Désactiver
users-reset = Réinitialiser avec ce mot de passe
users-new-password = Nouveau mot de passe (12 caractères au moins)
users-add = Ajouter un compte
users-enrolled = Compte prêt :
users-totp-once = Secret TOTP, affiché une seule fois ; saisissez-le dans l’application d’authentification de l’utilisateur :
