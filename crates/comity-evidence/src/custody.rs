//! The chain-of-custody record: a CASE/UCO JSON-LD graph stored in the bag as a tag file.
//!
//! It says who produced the evidence (a `uco-identity:Organization`), when and with which system (a
//! `case-investigation:InvestigativeAction` with a `uco-tool:Tool`), under which request and legal basis (a
//! `case-investigation:Investigation` and `case-investigation:Authorization`), the SHA-256 of every payload file
//! (`uco-observable:File` with a `ContentDataFacet`), and the conditions that travel with the evidence
//! (`uco-marking:StatementMarking`), all gathered by a `case-investigation:ProvenanceRecord`.

use serde_json::{Value, json};

use crate::digest::{Sha256Digest, hex};

/// File name of the custody record inside the bag.
pub const CUSTODY_RECORD_NAME: &str = "custody-record.jsonld";

/// One payload file as the custody record lists it.
pub struct CustodyFile<'a> {
    /// Path inside the bag, starting with `data/`.
    pub bag_path: &'a str,
    pub size_bytes: u64,
    pub sha256: Sha256Digest,
}

/// What the custody record states.
pub struct CustodyFacts<'a> {
    pub source_organization: &'a str,
    pub producer_key: &'a str,
    pub request_id: Option<&'a str>,
    pub legal_basis: Option<&'a str>,
    pub confidentiality: Option<&'a str>,
    pub speciality: Option<&'a str>,
    pub started_at: &'a str,
    pub ended_at: &'a str,
    pub tool_name: &'a str,
    pub tool_version: &'a str,
}

fn new_id() -> String {
    format!("urn:uuid:{}", uuid::Uuid::new_v4())
}

fn reference(id: &str) -> Value {
    json!({ "@id": id })
}

fn date_time(value: &str) -> Value {
    json!({ "@type": "xsd:dateTime", "@value": value })
}

fn integer(value: u64) -> Value {
    json!({ "@type": "xsd:integer", "@value": value.to_string() })
}

/// Builds the record as pretty JSON bytes.
pub fn custody_record<'a>(
    facts: &CustodyFacts<'_>,
    files: impl Iterator<Item = CustodyFile<'a>>,
) -> Vec<u8> {
    let mut graph = Vec::new();

    let organization = new_id();
    graph.push(json!({
        "@id": organization,
        "@type": "uco-identity:Organization",
        "uco-core:name": facts.source_organization,
        "uco-core:description": format!("Producing authority; signs with {}", facts.producer_key),
    }));

    let tool = new_id();
    graph.push(json!({
        "@id": tool,
        "@type": "uco-tool:Tool",
        "uco-core:name": facts.tool_name,
        "uco-tool:version": facts.tool_version,
        "uco-tool:toolType": "evidence sealing",
    }));

    let mut markings = Vec::new();
    for (label, statement) in [
        ("Confidentiality", facts.confidentiality),
        ("Speciality", facts.speciality),
    ] {
        let Some(statement) = statement else { continue };
        let definition = new_id();
        let marking = new_id();
        graph.push(json!({
            "@id": marking,
            "@type": "uco-marking:StatementMarking",
            "uco-marking:definitionType": "statement",
            "uco-marking:statement": format!("{label}: {statement}"),
        }));
        graph.push(json!({
            "@id": definition,
            "@type": "uco-marking:MarkingDefinition",
            "uco-core:name": label,
            "uco-marking:definitionType": "statement",
            "uco-marking:definition": reference(&marking),
        }));
        markings.push(reference(&definition));
    }

    let mut file_refs = Vec::new();
    for file in files {
        let id = new_id();
        let file_name = file.bag_path.rsplit('/').next().unwrap_or(file.bag_path);
        let mut node = json!({
            "@id": id,
            "@type": "uco-observable:File",
            "uco-core:hasFacet": [
                {
                    "@id": new_id(),
                    "@type": "uco-observable:FileFacet",
                    "uco-observable:fileName": file_name,
                    "uco-observable:filePath": file.bag_path,
                    "uco-observable:sizeInBytes": integer(file.size_bytes),
                },
                {
                    "@id": new_id(),
                    "@type": "uco-observable:ContentDataFacet",
                    "uco-observable:sizeInBytes": integer(file.size_bytes),
                    "uco-observable:hash": [{
                        "@id": new_id(),
                        "@type": "uco-types:Hash",
                        "uco-types:hashMethod": "SHA256",
                        "uco-types:hashValue": { "@type": "xsd:hexBinary", "@value": hex(&file.sha256) },
                    }],
                },
            ],
        });
        if !markings.is_empty() {
            node["uco-core:objectMarking"] = Value::Array(markings.clone());
        }
        graph.push(node);
        file_refs.push(reference(&id));
    }

    let mut authorizations = Vec::new();
    if let Some(legal_basis) = facts.legal_basis {
        let id = new_id();
        graph.push(json!({
            "@id": id,
            "@type": "case-investigation:Authorization",
            "case-investigation:authorizationType": "legal basis",
            "case-investigation:authorizationIdentifier": legal_basis,
        }));
        authorizations.push(reference(&id));
    }

    let provenance = new_id();
    let mut record = json!({
        "@id": provenance,
        "@type": "case-investigation:ProvenanceRecord",
        "uco-core:description": "Evidence sealed for transfer between authorities",
        "uco-core:object": file_refs,
    });
    if let Some(request) = facts.request_id {
        record["case-investigation:exhibitNumber"] = json!(request);
    }
    if !markings.is_empty() {
        record["uco-core:objectMarking"] = Value::Array(markings.clone());
    }
    graph.push(record);

    let action = new_id();
    let mut action_node = json!({
        "@id": action,
        "@type": "case-investigation:InvestigativeAction",
        "uco-core:name": "sealed for transfer",
        "uco-core:description": "Payload hashed into a BagIt bag, signed with DSSE and encrypted with age",
        "uco-action:startTime": date_time(facts.started_at),
        "uco-action:endTime": date_time(facts.ended_at),
        "uco-action:performer": reference(&organization),
        "uco-action:instrument": [reference(&tool)],
        "uco-action:result": [reference(&provenance)],
    });
    if !authorizations.is_empty() {
        action_node["uco-action:object"] = Value::Array(authorizations.clone());
    }
    graph.push(action_node);

    let mut investigation = json!({
        "@id": new_id(),
        "@type": "case-investigation:Investigation",
        "case-investigation:investigationForm": "case",
        "uco-core:object": [reference(&action), reference(&provenance)],
    });
    if let Some(request) = facts.request_id {
        investigation["uco-core:name"] = json!(request);
    }
    if !authorizations.is_empty() {
        investigation["case-investigation:relevantAuthorization"] = Value::Array(authorizations);
    }
    graph.push(investigation);

    let document = json!({
        "@context": {
            "case-investigation": "https://ontology.caseontology.org/case/investigation/",
            "uco-action": "https://ontology.unifiedcyberontology.org/uco/action/",
            "uco-core": "https://ontology.unifiedcyberontology.org/uco/core/",
            "uco-identity": "https://ontology.unifiedcyberontology.org/uco/identity/",
            "uco-marking": "https://ontology.unifiedcyberontology.org/uco/marking/",
            "uco-observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
            "uco-tool": "https://ontology.unifiedcyberontology.org/uco/tool/",
            "uco-types": "https://ontology.unifiedcyberontology.org/uco/types/",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
        },
        "@graph": graph,
    });
    let mut bytes = serde_json::to_vec_pretty(&document).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256;

    fn facts() -> CustodyFacts<'static> {
        CustodyFacts {
            source_organization: "Polícia Judiciária",
            producer_key: "ed25519:AAAA",
            request_id: Some("REQ-7"),
            legal_basis: Some("Budapest Convention, art. 31"),
            confidentiality: Some("restricted to the requesting authority"),
            speciality: Some("use only for request REQ-7"),
            started_at: "2026-01-01T00:00:00Z",
            ended_at: "2026-01-01T00:00:01Z",
            tool_name: "comity-evidence",
            tool_version: "0.1.0",
        }
    }

    #[test]
    fn record_lists_every_file_hash_and_condition() {
        let files = [
            ("data/a.txt", b"a".as_slice()),
            ("data/d/b.bin", b"bb".as_slice()),
        ];
        let bytes = custody_record(
            &facts(),
            files.iter().map(|(p, c)| CustodyFile {
                bag_path: p,
                size_bytes: c.len() as u64,
                sha256: sha256(c),
            }),
        );
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        let graph = doc["@graph"].as_array().unwrap();
        let of_type = |t: &str| graph.iter().filter(|n| n["@type"] == t).count();
        assert_eq!(of_type("uco-observable:File"), 2);
        assert_eq!(of_type("case-investigation:ProvenanceRecord"), 1);
        assert_eq!(of_type("case-investigation:InvestigativeAction"), 1);
        assert_eq!(of_type("case-investigation:Authorization"), 1);
        assert_eq!(of_type("uco-marking:StatementMarking"), 2);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains(&hex(&sha256(b"bb"))));
        assert!(text.contains("Speciality: use only for request REQ-7"));
        let ids: Vec<&str> = graph.iter().filter_map(|n| n["@id"].as_str()).collect();
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "node ids must be unique");
    }

    #[test]
    fn optional_facts_are_left_out_rather_than_empty() {
        let mut bare = facts();
        bare.request_id = None;
        bare.legal_basis = None;
        bare.confidentiality = None;
        bare.speciality = None;
        let text = String::from_utf8(custody_record(&bare, std::iter::empty())).unwrap();
        assert!(!text.contains("Authorization\""));
        assert!(!text.contains("objectMarking"));
        assert!(!text.contains("exhibitNumber"));
    }
}
