//! Repair 8 (`build/prepare.rs`): the generated types do not check strings.
//! Responses are not re-validated on decode, so a longer name or a new id
//! format from Clerk still decodes; requests are checked once, against the
//! rules table, before anything is sent.

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

#[tokio::test]
async fn request_strings_are_checked_by_the_rules_table_not_by_their_types() {
    let longest = clerk_machines::spec::operation("CreateMachine")
        .and_then(|op| op.field("name"))
        .and_then(|field| field.rules.max_length)
        .expect("the spec bounds names") as usize;
    // The generated body takes any string: a rule that a next spec adds to a
    // field never changes the field's type.
    let name: String = "n".repeat(longest + 1);
    let body = types::CreateMachineBody::builder().name(name.clone());
    assert_eq!(types::CreateMachineBody::try_from(body).expect("a plain String").name, name);
    // The facade refuses it before sending (the port is closed: a request sent
    // would be a transport error).
    let clerk = clerk_machines::Clerk::new(
        "sk_test_rules",
        clerk_machines::ClerkConfig::default()
            .with_base_url("http://127.0.0.1:9/v1")
            .with_retry(clerk_machines::RetryConfig::disabled()),
    )
    .expect("client");
    let refused = clerk.machines().create(name.as_str(), Vec::<String>::new(), None).await;
    assert!(
        matches!(&refused, Err(clerk_machines::Error::InvalidInput { field, .. }) if *field == "name"),
        "{refused:?}"
    );
    let sent = clerk.machines().create("n".repeat(longest), Vec::<String>::new(), None).await;
    assert!(matches!(sent, Err(clerk_machines::Error::Transport(_))), "the longest name is sent: {sent:?}");
}
