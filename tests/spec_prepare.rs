//! The build script's spec preparation, run on the real specs and on broken ones.
//!
//! `build/prepare.rs` and `build/spec_file.rs` are included as they are, so
//! these tests exercise exactly the code `build.rs` runs.

#[path = "../build/prepare.rs"]
#[allow(dead_code)]
mod prepare;
#[path = "../build/rules.rs"]
#[allow(dead_code)]
mod rules;
#[path = "../build/spec_file.rs"]
#[allow(dead_code)]
mod spec_file;

use std::path::Path;

fn prepare_file(path: &str) -> Result<prepare::Prepared, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    prepare::prepare(spec_file::read(&path)?)
}

/// The operations the hand-written layer wraps (`Machines`, `M2m` and the
/// verifier's key fetch). A new spec may add others; these must stay.
const WRAPPED: &[&str] = &[
    "CreateMachine",
    "CreateMachineScope",
    "DeleteMachine",
    "DeleteMachineScope",
    "GetMachine",
    "GetMachineSecretKey",
    "ListMachines",
    "RotateMachineSecretKey",
    "UpdateMachine",
    "createM2MToken",
    "getM2MTokens",
    "revokeM2MToken",
    "verifyM2MToken",
];

/// Fails naming every wrapped operation `ids` lacks.
fn assert_wraps(ids: &[&str], what: &str) {
    let missing: Vec<&&str> = WRAPPED.iter().filter(|id| !ids.contains(id)).collect();
    assert!(missing.is_empty(), "{what} lacks the wrapped operations {missing:?}");
}

/// The spec the crate was generated from: `CLERK_BAPI_SPEC` when set (as in
/// the build), else the newest vendored one, located as `build.rs` does.
fn prepare_generated_spec() -> prepare::Prepared {
    let path = spec_file::locate(Path::new(env!("CARGO_MANIFEST_DIR"))).expect("a spec");
    assert_eq!(path.file_name().and_then(|n| n.to_str()), Some(clerk_machines::spec::FILE));
    prepare::prepare(spec_file::read(&path).expect("readable")).expect("prepares")
}

#[test]
fn the_generated_spec_has_every_wrapped_operation() {
    let prepared = prepare_generated_spec();
    let mut ids: Vec<&str> = prepared.operations.iter().map(|op| op.id.as_str()).collect();
    assert_wraps(&ids, "the prepared spec");
    assert_eq!(prepared.version, clerk_machines::spec::VERSION);
    let mut generated: Vec<&str> = clerk_machines::spec::OPERATIONS.iter().map(|op| op.id).collect();
    generated.sort_unstable();
    ids.sort_unstable();
    assert_eq!(generated, ids, "the crate was generated from these operations");
    for op in &prepared.operations {
        let spec_op = clerk_machines::spec::operation(&op.id).expect("generated");
        assert_eq!((spec_op.method, spec_op.path), (op.method.as_str(), op.path.as_str()));
        assert_eq!(spec_op.statuses, op.statuses.as_slice(), "{}", op.id);
        assert!(spec_op.statuses.iter().any(|s| (200..300).contains(s)), "{} has a success status", op.id);
    }
}

#[test]
fn repairs_are_applied() {
    let prepared = prepare_generated_spec();
    let spec = serde_json::to_value(&prepared.spec).unwrap();
    assert!(request_only_closed(&spec), "responses must not deny unknown fields");
    // Secret fields decode into the redacting type.
    let secret =
        &spec["components"]["responses"]["Machine.SecretKey"]["content"]["application/json"]["schema"];
    assert_eq!(secret["properties"]["secret"]["$ref"], "#/components/schemas/SecretString");
    // Inline M2M error bodies now point at ClerkErrors.
    let error =
        &spec["paths"]["/m2m_tokens"]["get"]["responses"]["404"]["content"]["application/json"]["schema"];
    assert_eq!(error["$ref"], "#/components/schemas/ClerkErrors");
    // Numeric query parameters are integers.
    let params = spec["paths"]["/m2m_tokens"]["get"]["parameters"].as_array().unwrap();
    let limit = params.iter().find(|p| p["name"] == "limit").unwrap();
    assert_eq!(limit["schema"]["type"], "integer");
    // Request defaults are gone, response defaults stay.
    let body = &spec["paths"]["/machines"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert!(body["properties"]["default_token_ttl"].get("default").is_none());
    // Only referenced components survive.
    assert!(spec["components"]["schemas"].get("User").is_none());
    // The key set's items are plain objects: the seven key schemas are not generated.
    assert_eq!(spec["components"]["schemas"]["JWKS"]["properties"]["keys"]["items"]["type"], "object");
    assert!(spec["components"]["schemas"].get("JWKS.rsa.PublicKey").is_none());
    assert!(spec["components"]["schemas"].get("Machine").is_some());
}

/// `additionalProperties: false` may remain only inside request bodies.
fn request_only_closed(spec: &serde_json::Value) -> bool {
    let mut responses = spec["paths"].clone();
    for item in responses.as_object_mut().unwrap().values_mut() {
        for op in item.as_object_mut().unwrap().values_mut() {
            if let Some(op) = op.as_object_mut() {
                op.remove("requestBody");
            }
        }
    }
    let text = format!("{responses}{}", spec["components"]);
    !text.contains("\"additionalProperties\":false")
}

#[test]
#[ignore = "needs Clerk's published specs in ../shared/openapi/bapi (SHARED_SPECS); .ci/run runs it"]
fn every_shared_spec_prepares() {
    let dir = std::env::var_os("SHARED_SPECS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/openapi/bapi"));
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        let prepared = prepare::prepare(spec_file::read(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let ids: Vec<&str> = prepared.operations.iter().map(|op| op.id.as_str()).collect();
        assert_wraps(&ids, &path.display().to_string());
    }
}

#[test]
fn unsupported_specs_get_a_message_naming_the_operation() {
    let error = prepare_file("tests/data/two-success-schemas.yml").err().expect("rejected");
    assert!(error.contains("operation GetMachine (GET /machines/{machine_id})"), "{error}");
    assert!(error.contains("2 different success response schemas"), "{error}");

    let error = prepare_file("tests/data/broken-ref.yml").err().expect("rejected");
    assert!(error.contains("unresolvable reference #/components/schemas/Missing"), "{error}");

    let error = prepare_file("tests/data/no-machines.yml").err().expect("rejected");
    assert!(error.contains("no operation is tagged"), "{error}");
}

#[test]
fn unreadable_files_are_named() {
    let error = spec_file::read(Path::new("/nonexistent/spec.yml")).expect_err("rejected");
    assert!(error.contains("/nonexistent/spec.yml"), "{error}");
    let dir = std::env::temp_dir().join(format!("clerk-machines-bad-yaml-{}", std::process::id()));
    std::fs::write(&dir, "openapi: [unclosed").unwrap();
    let error = spec_file::read(&dir).expect_err("rejected");
    std::fs::remove_file(&dir).ok();
    assert!(error.contains("is not valid YAML"), "{error}");
}
