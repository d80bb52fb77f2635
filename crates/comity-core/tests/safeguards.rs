//! Safeguard scenarios: each file in `tests/safeguards/` is a request, the two States and how it is sent, with the
//! findings, refusal grounds and blocked actions expected; one `check` runs them all, and the text of every finding
//! is pinned in `tests/safeguards/findings.txt` (refresh with `UPDATE_EXPECT=1`).
#![allow(clippy::unwrap_used, reason = "test code: a panic is a failed test")]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use comity_core::catalogue::Catalogue;
use comity_core::lifecycle::Action;
use comity_core::request::{
    Assets, CollectionPeriod, DataSought, JointInvestigation, OffenceCharged, RequestDocument,
};
use comity_core::safeguards::{
    ChecklistAnswer, Conditions, Consent, Decision, Finding, IncomingAssessment, NoticeStatus,
    Profile, ProposedUse, SafeguardRules, Sending, UseRecipient, ValidationStatus, blocks,
    check_decision, check_incoming, check_onward_use, check_outgoing, example_profiles, notice_due,
    validation_status,
};
use comity_core::{AuthorityId, IsoCountry};
use expect_test::expect_file;
use serde::Deserialize;
use time::OffsetDateTime;
use time::macros::datetime;

mod file {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Scenario {
        pub description: String,
        pub from: String,
        pub to: String,
        pub sending: Sending,
        pub request: Request,
        pub decision: Option<Decision>,
        pub expect: Expect,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Sending {
        pub from_kind: String,
        pub to_kind: String,
        pub issuer: String,
        pub validated_by: Option<String>,
        #[serde(default)]
        pub judicial_authorisation: bool,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Offence {
        pub entry: String,
        pub provision: String,
        pub months: u32,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Data {
        pub category: String,
        pub description: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Period {
        pub days: u32,
        pub justification: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Joint {
        pub members: Vec<String>,
        pub duration_days: u32,
        pub evidence: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Request {
        pub mechanism: String,
        pub instrument: String,
        pub requesting_authority: Option<String>,
        pub requested_state: Option<String>,
        pub addressee: Option<String>,
        pub domestic_legal_basis: Option<String>,
        #[serde(default)]
        pub offences: Vec<Offence>,
        pub summary_of_facts: Option<String>,
        #[serde(default)]
        pub data: Vec<Data>,
        pub relation_to_offence: Option<String>,
        pub custodian_or_location: Option<String>,
        pub necessity: Option<String>,
        #[serde(default)]
        pub follow_up_mla_intent: bool,
        pub assistance_sought: Option<String>,
        pub purpose: Option<String>,
        pub persons_concerned: Option<String>,
        pub urgency: Option<String>,
        pub emergency_justification: Option<String>,
        #[serde(default)]
        pub confidentiality_requested: bool,
        pub language: Option<String>,
        pub collection_period: Option<Period>,
        pub preservation_reference: Option<String>,
        pub conditions: Option<String>,
        pub assets: Option<String>,
        pub joint_investigation: Option<Joint>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Answer {
        pub id: String,
        #[serde(default)]
        pub concern: bool,
        pub note: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Conditions {
        #[serde(default)]
        pub confidentiality: bool,
        #[serde(default)]
        pub speciality: Vec<String>,
        #[serde(default)]
        pub onward_transfer_needs_consent: bool,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Decision {
        pub action: String,
        #[serde(default)]
        pub grounds: Vec<String>,
        #[serde(default)]
        pub reasons: String,
        #[serde(default)]
        pub consulted_before: bool,
        #[serde(default)]
        pub checklist: Vec<Answer>,
        pub conditions: Option<Conditions>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct DualCriminality {
        pub required: bool,
        pub met: bool,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Expect {
        pub outgoing: Option<Vec<String>>,
        pub send_blocked: Option<bool>,
        pub incoming: Option<Vec<String>>,
        pub open_grounds: Option<Vec<String>>,
        pub barred_grounds: Option<Vec<String>>,
        pub dual_criminality: Option<DualCriminality>,
        pub checklist: Option<Vec<String>>,
        pub decision: Option<Vec<String>>,
        pub decision_blocked: Option<bool>,
    }
}

struct World {
    catalogue: Catalogue,
    rules: SafeguardRules,
    profiles: Vec<Profile>,
}

impl World {
    fn new() -> Self {
        let catalogue = Catalogue::embedded().unwrap();
        let rules = SafeguardRules::embedded(&catalogue).unwrap();
        let profiles = example_profiles(&catalogue, &rules).unwrap();
        Self {
            catalogue,
            rules,
            profiles,
        }
    }

    fn profile(&self, state: &str) -> &Profile {
        self.profiles
            .iter()
            .find(|p| p.state.as_str() == state)
            .unwrap_or_else(|| panic!("no example profile for {state}"))
    }
}

fn request(r: &file::Request, from: &str, to: &str) -> RequestDocument {
    let text = |t: &Option<String>| t.clone();
    RequestDocument {
        mechanism: r.mechanism.clone(),
        requesting_authority: AuthorityId::parse(
            r.requesting_authority
                .as_deref()
                .unwrap_or(&format!("{}-central", from.to_lowercase())),
        )
        .unwrap(),
        requested_state: IsoCountry::parse(r.requested_state.as_deref().unwrap_or(to)).unwrap(),
        addressee: text(&r.addressee),
        instrument: r.instrument.clone(),
        domestic_legal_basis: text(&r.domestic_legal_basis),
        offences: r
            .offences
            .iter()
            .map(|o| OffenceCharged {
                catalogue_entry: o.entry.clone(),
                national_provision: o.provision.clone(),
                max_penalty_months: o.months,
            })
            .collect(),
        summary_of_facts: text(&r.summary_of_facts),
        data_sought: r
            .data
            .iter()
            .map(|d| DataSought {
                category: d.category.parse().unwrap(),
                description: d.description.clone(),
                identifiers: vec![],
                time_range: None,
            })
            .collect(),
        relation_to_offence: text(&r.relation_to_offence),
        custodian_or_location: text(&r.custodian_or_location),
        necessity: text(&r.necessity),
        follow_up_mla_intent: r.follow_up_mla_intent,
        assistance_sought: text(&r.assistance_sought),
        purpose: text(&r.purpose),
        persons_concerned: text(&r.persons_concerned),
        urgency: r.urgency.as_deref().unwrap_or("normal").parse().unwrap(),
        emergency_justification: text(&r.emergency_justification),
        confidentiality_requested: r.confidentiality_requested,
        language: r.language.clone().unwrap_or_else(|| "en".to_owned()),
        collection_period: r.collection_period.as_ref().map(|p| CollectionPeriod {
            days: p.days,
            justification: p.justification.clone(),
        }),
        preservation_reference: text(&r.preservation_reference),
        conditions: text(&r.conditions),
        assets: r.assets.as_ref().map(|a| Assets {
            description: a.clone(),
            location: None,
            estimated_value: None,
            order_reference: None,
        }),
        joint_investigation: r.joint_investigation.as_ref().map(|j| JointInvestigation {
            members: j
                .members
                .iter()
                .map(|m| AuthorityId::parse(m).unwrap())
                .collect(),
            duration_days: j.duration_days,
            evidence_arrangements: j.evidence.clone(),
        }),
    }
}

fn sending(s: &file::Sending) -> Sending {
    Sending {
        from_kind: s.from_kind.parse().unwrap(),
        to_kind: s.to_kind.parse().unwrap(),
        issuer: s.issuer.parse().unwrap(),
        validated_by: s.validated_by.as_deref().map(|v| v.parse().unwrap()),
        judicial_authorisation: s.judicial_authorisation,
    }
}

fn decision(d: &file::Decision) -> Decision {
    Decision {
        action: d.action.parse::<Action>().unwrap(),
        grounds: d.grounds.clone(),
        reasons: d.reasons.clone(),
        consulted_before: d.consulted_before,
        checklist_answers: d
            .checklist
            .iter()
            .map(|a| ChecklistAnswer {
                id: a.id.clone(),
                concern: a.concern,
                note: a.note.clone(),
            })
            .collect(),
        conditions: d.conditions.as_ref().map(|c| Conditions {
            confidentiality: c.confidentiality,
            speciality: c.speciality.clone(),
            onward_transfer_needs_consent: c.onward_transfer_needs_consent,
        }),
    }
}

/// `block scope.x`, sorted, so that the order of checks is not part of the contract.
fn codes(findings: &[Finding]) -> Vec<String> {
    let mut codes: Vec<String> = findings
        .iter()
        .map(|f| format!("{} {}", f.severity, f.code))
        .collect();
    codes.sort();
    codes
}

fn sorted(list: &[String]) -> Vec<String> {
    let mut list = list.to_vec();
    list.sort();
    list
}

fn render(out: &mut String, title: &str, findings: &[Finding]) {
    writeln!(out, "  {title}:").unwrap();
    if findings.is_empty() {
        writeln!(out, "    (none)").unwrap();
    }
    for f in findings {
        writeln!(out, "    {f}").unwrap();
    }
}

/// What one scenario showed, for the coverage checks.
#[derive(Default)]
struct Seen {
    mechanisms: BTreeSet<String>,
    grounds: BTreeSet<String>,
    codes: BTreeSet<String>,
}

/// Runs one scenario: compares every expectation it states, and appends its findings' text to `out`.
fn check(world: &World, name: &str, text: &str, out: &mut String, seen: &mut Seen) -> Vec<String> {
    let s: file::Scenario =
        toml::from_str(text).unwrap_or_else(|e| panic!("{name}: not a scenario: {e}"));
    let from = world.profile(&s.from);
    let to = world.profile(&s.to);
    let doc = request(&s.request, &s.from, &s.to);
    let sending = sending(&s.sending);
    let mut failures = Vec::new();
    let mut compare = |what: &str, expected: &[String], actual: &[String]| {
        if sorted(expected) != sorted(actual) {
            failures.push(format!(
                "{name}: {what}\n    expected {:?}\n    actual   {:?}",
                sorted(expected),
                sorted(actual)
            ));
        }
    };
    writeln!(out, "== {name}: {}", s.description).unwrap();
    seen.mechanisms.insert(doc.mechanism.clone());

    let outgoing = check_outgoing(&doc, &world.catalogue, &world.rules, from, to, &sending);
    render(out, "outgoing", &outgoing);
    seen.codes
        .extend(outgoing.iter().map(|f| f.code.to_owned()));
    if let Some(expected) = &s.expect.outgoing {
        compare("outgoing findings", expected, &codes(&outgoing));
    }
    if let Some(expected) = s.expect.send_blocked {
        compare(
            "send blocked",
            &[expected.to_string()],
            &[blocks(&outgoing).to_string()],
        );
    }

    let assessment: IncomingAssessment =
        check_incoming(&doc, &world.catalogue, &world.rules, from, to);
    render(out, "incoming", &assessment.findings);
    seen.codes
        .extend(assessment.findings.iter().map(|f| f.code.to_owned()));
    let open: Vec<String> = assessment
        .open_grounds
        .iter()
        .map(|g| g.id.clone())
        .collect();
    let barred: Vec<String> = assessment
        .barred_grounds
        .iter()
        .map(|g| g.id.clone())
        .collect();
    writeln!(out, "  open grounds: {}", open.join(", ")).unwrap();
    for b in &assessment.barred_grounds {
        writeln!(out, "  barred {}: {}", b.id, b.reason).unwrap();
    }
    let dc = &assessment.dual_criminality;
    writeln!(
        out,
        "  dual criminality: required {}, met {}",
        dc.required, dc.met
    )
    .unwrap();
    for line in &dc.reasoning {
        writeln!(out, "    {line}").unwrap();
    }
    let checklist: Vec<String> = assessment.checklist.iter().map(|c| c.id.clone()).collect();
    if let Some(expected) = &s.expect.incoming {
        compare("incoming findings", expected, &codes(&assessment.findings));
    }
    if let Some(expected) = &s.expect.open_grounds {
        compare("open grounds", expected, &open);
        seen.grounds.extend(expected.iter().cloned());
    }
    if let Some(expected) = &s.expect.barred_grounds {
        compare("barred grounds", expected, &barred);
        seen.grounds.extend(expected.iter().cloned());
    }
    if let Some(expected) = &s.expect.dual_criminality {
        compare(
            "dual criminality (required, met)",
            &[format!("{} {}", expected.required, expected.met)],
            &[format!("{} {}", dc.required, dc.met)],
        );
    }
    if let Some(expected) = &s.expect.checklist {
        compare("checklist", expected, &checklist);
    }

    if let Some(d) = &s.decision {
        let findings = check_decision(&decision(d), &assessment, &world.rules);
        render(out, &format!("decision {}", d.action), &findings);
        seen.codes
            .extend(findings.iter().map(|f| f.code.to_owned()));
        if let Some(expected) = &s.expect.decision {
            compare("decision findings", expected, &codes(&findings));
        }
        if let Some(expected) = s.expect.decision_blocked {
            compare(
                "decision blocked",
                &[expected.to_string()],
                &[blocks(&findings).to_string()],
            );
        }
    } else if s.expect.decision.is_some() || s.expect.decision_blocked.is_some() {
        failures.push(format!("{name}: expects a decision but has no [decision]"));
    }
    out.push('\n');
    failures
}

#[test]
fn scenarios() {
    let world = World::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/safeguards");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "only {} scenarios", files.len());
    let mut out = String::new();
    let mut seen = Seen::default();
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        failures.extend(check(&world, &name, &text, &mut out, &mut seen));
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));

    // Every mechanism of the catalogue, and every refusal ground, is exercised by some scenario.
    let mechanisms: BTreeSet<String> = world
        .catalogue
        .mechanisms
        .iter()
        .map(|m| m.id.clone())
        .collect();
    let missing: Vec<_> = mechanisms.difference(&seen.mechanisms).collect();
    assert!(
        missing.is_empty(),
        "mechanisms without a scenario: {missing:?}"
    );
    let grounds: BTreeSet<String> = world
        .catalogue
        .refusal_grounds
        .iter()
        .map(|g| g.id.clone())
        .collect();
    let missing: Vec<_> = grounds.difference(&seen.grounds).collect();
    assert!(
        missing.is_empty(),
        "refusal grounds no scenario expects: {missing:?}"
    );

    expect_file!["safeguards/findings.txt"].assert_eq(&out);
}

// ---------------------------------------------------------------------------------------------------------------
// Functions that take no request: validation window, conditions, notice.

#[test]
fn an_emergency_order_not_validated_in_time_lapses_and_its_data_are_quarantined() {
    let world = World::new();
    let window = &world.rules.emergency_validation;
    let issued = datetime!(2026-11-23 02:00 UTC);
    let at = |h: i64| issued + time::Duration::hours(h);
    assert_eq!(
        validation_status(window, issued, None, at(47)),
        ValidationStatus::Pending { due: at(48) }
    );
    assert_eq!(
        validation_status(window, issued, Some(at(30)), at(100)),
        ValidationStatus::Valid {
            validated_at: at(30)
        }
    );
    let lapsed = validation_status(window, issued, None, at(48));
    assert_eq!(lapsed, ValidationStatus::Lapsed { due: at(48) });
    assert!(lapsed.quarantine_required());
    // A validation after the window does not save the order.
    assert!(validation_status(window, issued, Some(at(49)), at(50)).quarantine_required());
    expect_test::expect![[r#"
        block validation.lapsed: the emergency order was not validated within 48h (by 2026-11-25 2:00:00.0 +00:00:00): quarantine the data received under it and tell the requester; do not use them (EEV Art 4(5) [S])"#]]
    .assert_eq(&lapsed.finding(window).unwrap().to_string());
    assert!(
        validation_status(window, issued, None, at(1))
            .finding(window)
            .is_none()
    );
}

#[test]
fn the_validation_window_is_data() {
    let text = comity_core::catalogue::EMBEDDED.replace(
        "duration = \"48h\"\nstarts = \"sent\"",
        "duration = \"24h\"\nstarts = \"sent\"",
    );
    assert_ne!(text, comity_core::catalogue::EMBEDDED);
    let catalogue = Catalogue::parse(&text).unwrap();
    let rules = SafeguardRules::embedded(&catalogue).unwrap();
    let issued = datetime!(2026-11-23 02:00 UTC);
    assert!(
        validation_status(
            &rules.emergency_validation,
            issued,
            None,
            issued + time::Duration::hours(25)
        )
        .quarantine_required()
    );
}

fn proposed(purpose: &str, recipient: UseRecipient) -> ProposedUse {
    ProposedUse {
        purpose: purpose.to_owned(),
        recipient,
    }
}

#[test]
fn conditions_travel_with_the_evidence() {
    let world = World::new();
    let conditions = Conditions {
        confidentiality: true,
        speciality: vec!["prosecution of case 2026/118".to_owned()],
        onward_transfer_needs_consent: true,
    };
    let same = proposed(
        "Prosecution of case 2026/118",
        UseRecipient::RequestingAuthority,
    );
    assert_eq!(
        check_onward_use(&conditions, &same, &[], &world.rules),
        Ok(())
    );

    let tax = proposed("tax assessment", UseRecipient::RequestingAuthority);
    let err = check_onward_use(&conditions, &tax, &[], &world.rules).unwrap_err();
    expect_test::expect![[r#"
        block onward.consent-required: this use needs the providing State's consent first: the evidence was supplied only for `prosecution of case 2026/118`; ask for it and record it before forwarding or exporting (BC Art 27(8), 28 [V]; UNTOC Art 18(19) [T])"#]]
    .assert_eq(&err.to_string());

    let police = proposed(
        "prosecution of case 2026/118",
        UseRecipient::OtherAuthority {
            authority: "fr-police-ofac".to_owned(),
        },
    );
    assert!(check_onward_use(&conditions, &police, &[], &world.rules).is_err());
    let consent = Consent {
        purpose: None,
        recipient: Some(police.recipient.clone()),
        reference: "BR-DRCI-2026-77".to_owned(),
        given_at: datetime!(2026-11-20 09:00 UTC),
    };
    assert_eq!(
        check_onward_use(
            &conditions,
            &police,
            std::slice::from_ref(&consent),
            &world.rules
        ),
        Ok(())
    );
    // A consent for one recipient does not cover another, nor a third State.
    let abroad = proposed(
        "prosecution of case 2026/118",
        UseRecipient::ThirdState {
            state: IsoCountry::parse("US").unwrap(),
        },
    );
    let err = check_onward_use(&conditions, &abroad, &[consent], &world.rules).unwrap_err();
    assert!(
        err.citations
            .iter()
            .any(|c| c.instrument == "UNCC" && c.article == "36")
    );
    // Even without conditions, a third State needs consent; publication of confidential evidence too.
    assert!(check_onward_use(&Conditions::default(), &abroad, &[], &world.rules).is_err());
    let press = proposed("prosecution of case 2026/118", UseRecipient::Public);
    assert!(check_onward_use(&conditions, &press, &[], &world.rules).is_err());
    assert_eq!(
        check_onward_use(&Conditions::default(), &press, &[], &world.rules),
        Ok(())
    );
}

#[test]
fn notice_deferred_is_reminded_before_its_review_date() {
    let world = World::new();
    let decided = datetime!(2026-11-01 09:00 UTC);
    let review = datetime!(2026-12-01 09:00 UTC);
    assert!(NoticeStatus::deferred("  ", review, decided).is_err());
    assert!(NoticeStatus::deferred("investigation still covert", decided, decided).is_err());
    let status = NoticeStatus::deferred("investigation still covert", review, decided).unwrap();
    let at = |d: OffsetDateTime| notice_due(&status, &world.rules, d);
    assert_eq!(at(datetime!(2026-11-23 09:00 UTC)), None);
    let soon = at(datetime!(2026-11-24 09:00 UTC)).unwrap();
    assert!(!soon.overdue);
    assert_eq!(soon.due, review);
    expect_test::expect![[r#"
        warn notice.review-due: the deferral of notice comes up for review on 2026-12-01 9:00:00.0 +00:00:00: give notice, or renew the deferral with fresh reasons (EEV Art 13 [V])"#]]
    .assert_eq(&soon.finding.to_string());
    let late = at(datetime!(2026-12-02 09:00 UTC)).unwrap();
    assert!(late.overdue);
    assert_eq!(late.finding.code, "notice.review-overdue");
    assert_eq!(
        notice_due(&NoticeStatus::Given { at: decided }, &world.rules, review),
        None
    );
    let pending = notice_due(
        &NoticeStatus::Pending { since: decided },
        &world.rules,
        review,
    );
    assert_eq!(pending.unwrap().finding.code, "notice.pending");
}

#[test]
fn the_reminder_lead_time_is_data() {
    let catalogue = Catalogue::embedded().unwrap();
    let text = comity_core::safeguards::EMBEDDED
        .replace("remind_before = \"7d\"", "remind_before = \"30d\"");
    let rules = SafeguardRules::parse(&text, &catalogue).unwrap();
    let decided = datetime!(2026-11-01 09:00 UTC);
    let review = datetime!(2026-12-01 09:00 UTC);
    let status = NoticeStatus::deferred("covert", review, decided).unwrap();
    assert!(notice_due(&status, &rules, datetime!(2026-11-02 09:00 UTC)).is_some());
}
