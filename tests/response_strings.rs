//! Repair 8 (`build/prepare.rs`): strings in response-only schemas are not
//! re-validated on decode, so a longer name or a new id format from Clerk
//! still decodes; request bodies keep their checks.

use clerk_machines::types;

#[test]
fn long_names_and_unexpected_ids_in_responses_decode() {
    let name = "n".repeat(300);
    let body = format!(
        r#"{{"object":"machine","id":"machine-42","name":"{name}","instance_id":"ins_1","created_at":1,"updated_at":2,
            "scoped_machines":[{{"object":"machine","id":"m2","name":"","instance_id":"ins_1","created_at":1,"updated_at":2}}]}}"#
    );
    let machine: types::Machine = serde_json::from_str(&body).unwrap();
    assert_eq!(machine.name, name);
    assert_eq!(machine.scoped_machines[0].name, "");
}

#[test]
fn m2m_subjects_and_scopes_are_not_pattern_checked_on_decode() {
    let body = r#"{"object":"machine_to_machine_token","id":"mt_new_format","subject":"machine:7",
        "scopes":["any-format"],"claims":null,"revoked":false,"revocation_reason":null,"expired":false,
        "expiration":null,"last_used_at":null,"created_at":1,"updated_at":2}"#;
    let token: types::VerifyM2mTokenResponse = serde_json::from_str(body).unwrap();
    assert_eq!(token.subject, "machine:7");
    assert_eq!(token.scopes, ["any-format"]);
}

#[test]
fn request_bodies_keep_their_checks() {
    let longest = clerk_machines::spec::operation("CreateMachine")
        .and_then(|op| op.field("name"))
        .and_then(|field| field.rules.max_length)
        .expect("the spec bounds names") as usize;
    assert!(types::CreateMachineBodyName::try_from("n".repeat(longest)).is_ok());
    assert!(types::CreateMachineBodyName::try_from("n".repeat(longest + 1)).is_err());
    assert!(types::CreateMachineBodyName::try_from("ok").is_ok());
}
