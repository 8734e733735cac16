//! The state table on the local stack: dynalite holds the template's table, and the IAM proxy
//! the function reaches it through allows exactly what the template grants the function.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::support::stack;

/// The HTTP status of a refused call, as the SDK received it.
fn status<E>(err: &aws_sdk_dynamodb::error::SdkError<E>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_state_proxy_allows_only_what_the_template_grants() {
    let dynamo = stack().dynamo();
    let function = dynamo.function_client();
    let table = dynamo.table();
    let key = |pk: &str| {
        [
            ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
            ("sk".to_owned(), AttributeValue::S("state-stack".to_owned())),
        ]
        .into()
    };

    // Granted: the item calls the state store makes, forwarded verbatim (signed headers and
    // body) to dynalite and answered by it.
    function
        .put_item()
        .table_name(table)
        .set_item(Some(key("state-stack#iam")))
        .item("v", AttributeValue::S("{}".into()))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutItem: {e:?}"));
    let got = function
        .get_item()
        .table_name(table)
        .set_key(Some(key("state-stack#iam")))
        .consistent_read(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetItem: {e:?}"));
    assert_eq!(
        got.item.and_then(|i| i.get("v").cloned()),
        Some(AttributeValue::S("{}".into()))
    );
    // dynalite's own conditional-check failure comes back through the proxy unchanged.
    let again = function
        .put_item()
        .table_name(table)
        .set_item(Some(key("state-stack#iam")))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
        .expect_err("the item exists");
    assert_eq!(again.code(), Some("ConditionalCheckFailedException"));

    // Not granted: a scan of the table, dropping it, and the granted calls on another table.
    // Each is IAM's AccessDeniedException, as DynamoDB returns it (HTTP 400).
    let scan = function
        .scan()
        .table_name(table)
        .send()
        .await
        .expect_err("Scan is not granted");
    assert_eq!(scan.code(), Some("AccessDeniedException"), "{scan:?}");
    assert_eq!(status(&scan), Some(400));
    assert!(
        scan.message().is_some_and(|m| m.contains("dynamodb:Scan")),
        "{scan:?}"
    );
    let drop = function
        .delete_table()
        .table_name(table)
        .send()
        .await
        .expect_err("DeleteTable is not granted");
    assert_eq!(drop.code(), Some("AccessDeniedException"), "{drop:?}");
    let elsewhere = function
        .get_item()
        .table_name("another-table")
        .set_key(Some(key("state-stack#iam")))
        .send()
        .await
        .expect_err("only the deployment's table is granted");
    assert_eq!(
        elsewhere.code(),
        Some("AccessDeniedException"),
        "{elsewhere:?}"
    );

    // A refusal never reaches dynalite: the harness's admin still finds the table.
    dynamo
        .admin_client()
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap_or_else(|e| panic!("the table is gone: {e:?}"));

    // The proxy recorded each call, granted or refused.
    let gets = dynamo.calls("GetItem");
    let mine = |pk: &str| {
        gets.iter()
            .filter(|c| c.body["Key"]["pk"]["S"] == pk)
            .map(|c| {
                (
                    c.body["TableName"].as_str().unwrap_or_default().to_owned(),
                    c.granted,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        mine("state-stack#iam"),
        [
            (table.to_owned(), true),
            ("another-table".to_owned(), false)
        ]
    );
    assert!(dynamo.calls("Scan").iter().all(|c| !c.granted));
}

/// DynamoDB applies a claim and its answer is lost (a 500 after the write); the SDK retries the
/// same conditional put, which finds the item the first attempt wrote. The store reports the
/// claim won by its claimant, and still held against anyone else — a job's run marker taken
/// this way does not make the job drop itself as a duplicate.
#[tokio::test(flavor = "multi_thread")]
async fn a_claim_whose_answer_was_lost_is_won_by_its_claimant_alone() {
    use marquee_core::state::dynamo::DynamoState;
    use marquee_core::state::{Claim, Claimant, Key, StateStore};

    use crate::support::dynamo::Fault;

    let dynamo = stack().dynamo();
    let store = DynamoState::new(dynamo.function_client(), dynamo.table());
    let pk = format!("job#{}", uuid::Uuid::new_v4());
    let key = Key::new(pk.clone(), "run");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    dynamo.fault_for_item("PutItem", &pk, Fault::AppliedThenInternalError, 1);

    let ours = Claimant::new();
    let claim = store
        .claim(&key, "{}".into(), &ours, Some(now + 60), now)
        .await
        .unwrap();
    assert_eq!(dynamo.faults_played("PutItem", &pk), 1);
    assert_eq!(
        dynamo.calls_for_item("PutItem", &pk).len(),
        2,
        "the applied put and the SDK's retry"
    );
    assert_eq!(claim, Claim::Won);
    // Another claimant (a second delivery of the same job) still finds it held.
    let theirs = store
        .claim(&key, "{}".into(), &Claimant::new(), Some(now + 60), now)
        .await
        .unwrap();
    assert!(matches!(theirs, Claim::Held(_)), "{theirs:?}");
}

/// DynamoDB applies a quota reservation's `UpdateItem ADD` and its answer is lost; the SDK
/// retries the same call. The retry finds the add's own token as the counter's last and
/// answers the total without counting again — a lost answer never charges a person twice or
/// refuses them early.
#[tokio::test(flavor = "multi_thread")]
async fn a_counter_whose_answer_was_lost_counts_once() {
    use marquee_core::state::dynamo::DynamoState;
    use marquee_core::state::{Added, Claimant, Key, StateStore};

    use crate::support::dynamo::Fault;

    let dynamo = stack().dynamo();
    let store = DynamoState::new(dynamo.function_client(), dynamo.table());
    let pk = format!("quota#user#T#{}", uuid::Uuid::new_v4().simple());
    let key = Key::new(pk.clone(), "2026-12-06");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    dynamo.fault_for_item("UpdateItem", &pk, Fault::AppliedThenInternalError, 1);

    let added = store
        .add(&key, 2, Some(3), &Claimant::new(), Some(now + 60), now)
        .await
        .unwrap();
    assert_eq!(dynamo.faults_played("UpdateItem", &pk), 1);
    assert_eq!(
        dynamo.calls_for_item("UpdateItem", &pk).len(),
        2,
        "the applied add and the SDK's retry"
    );
    assert_eq!(added, Added::To(2), "counted once, not refused at 4 > 3");
    // The counter holds 2: the next person's add makes 3, and the limit still holds.
    assert_eq!(
        store
            .add(&key, 1, Some(3), &Claimant::new(), Some(now + 60), now)
            .await
            .unwrap(),
        Added::To(3)
    );
    assert_eq!(
        store
            .add(&key, 1, Some(3), &Claimant::new(), Some(now + 60), now)
            .await
            .unwrap(),
        Added::Refused(3)
    );
}
