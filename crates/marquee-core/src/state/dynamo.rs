//! State in one DynamoDB table (on-demand, `pk`/`sk` string keys, TTL on `expires_at`).
//!
//! Each [`StateStore`] operation is one conditional item operation — `PutItem`, `GetItem`,
//! `UpdateItem`, `DeleteItem` or `Query` — so the function's role needs exactly those five
//! actions on the table, and no transaction API is used (`TransactWriteItems` would also cost
//! twice the capacity). Reads are strongly consistent: a run marker or an approval written a
//! moment ago must be seen.
//!
//! Attributes: `pk`, `sk` (strings), `v` (the item's JSON document), `n` (the counter),
//! `c` (the token of the claim that wrote the item), `a` (the token of the counter's last add),
//! `expires_at` (Unix seconds; the table's TTL attribute).
//!
//! The SDK retries a call that failed with a 5xx or an I/O error, and such a call may have
//! been applied: a claim's retry would then find its own item. The claim's condition therefore
//! also lets the same claimant write again (`#c = :c`), so a retried claim succeeds exactly
//! where its first attempt did, in the same single conditional write. A counter's add sets its
//! token as `a` and requires `a` to differ: a retried add that had landed fails its condition,
//! finds its own token and answers the total without counting twice.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::{Added, Claim, Claimant, Item, Key, StateError, StateStore};

/// The table's attribute names.
const PK: &str = "pk";
const SK: &str = "sk";
const VALUE: &str = "v";
const COUNT: &str = "n";
const CLAIMANT: &str = "c";
const ADDER: &str = "a";
const EXPIRES: &str = "expires_at";

/// The IAM actions this store's calls need on the table, one per kind of call made below.
/// `marquee doctor` simulates the function's role against exactly these, and the deployment
/// test checks the template grants exactly these and that they are the calls this file makes.
pub const IAM_ACTIONS: [&str; 5] = [
    "dynamodb:PutItem",
    "dynamodb:GetItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
];

/// Tries of [`StateStore::add`] when it meets an expired counter it must reset first.
const ADD_TRIES: usize = 3;

#[derive(Debug, Clone)]
pub struct DynamoState {
    client: Client,
    table: String,
}

impl DynamoState {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn key_attrs(key: &Key) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (PK.to_owned(), AttributeValue::S(key.pk.clone())),
            (SK.to_owned(), AttributeValue::S(key.sk.clone())),
        ])
    }

    async fn get_consistent(&self, key: &Key) -> Result<Option<Item>, StateError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key_attrs(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| StateError::backend("GetItem", key, e))?;
        out.item.map(|attrs| item_from(&attrs)).transpose()
    }
}

fn num(n: i64) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

/// Reads an item's attributes back; a missing value or counter is empty or zero.
fn item_from(attrs: &HashMap<String, AttributeValue>) -> Result<Item, StateError> {
    let s = |name: &str| attrs.get(name).and_then(|v| v.as_s().ok()).cloned();
    let n = |name: &str| -> Result<Option<i64>, StateError> {
        match attrs.get(name) {
            None => Ok(None),
            Some(v) => {
                let text = v.as_n().map_err(|_| malformed(attrs, name))?;
                text.parse().map(Some).map_err(|_| malformed(attrs, name))
            }
        }
    };
    let key = Key::new(s(PK).unwrap_or_default(), s(SK).unwrap_or_default());
    Ok(Item {
        value: s(VALUE).unwrap_or_default(),
        claimant: s(CLAIMANT).unwrap_or_default(),
        adder: s(ADDER).unwrap_or_default(),
        count: n(COUNT)?.unwrap_or(0),
        expires_at: n(EXPIRES)?,
        key,
    })
}

fn malformed(attrs: &HashMap<String, AttributeValue>, attr: &str) -> StateError {
    let pk = attrs
        .get(PK)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    StateError::Malformed {
        pk,
        source: format!("attribute {attr} is not an integer").into(),
    }
}

/// Whether a failed call failed only because its condition did not hold.
fn is_condition_failure<E, R>(e: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

#[async_trait]
impl StateStore for DynamoState {
    async fn claim(
        &self,
        key: &Key,
        value: String,
        claimant: &Claimant,
        expires_at: Option<i64>,
        now: i64,
    ) -> Result<Claim, StateError> {
        let mut item = Self::key_attrs(key);
        item.insert(VALUE.to_owned(), AttributeValue::S(value));
        item.insert(
            CLAIMANT.to_owned(),
            AttributeValue::S(claimant.as_str().to_owned()),
        );
        if let Some(at) = expires_at {
            item.insert(EXPIRES.to_owned(), num(at));
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            // Absent, or present but expired (an item without `expires_at` never expires), or
            // written by this claimant: its own earlier attempt, whose answer was lost.
            .condition_expression("attribute_not_exists(#pk) OR #exp <= :now OR #c = :c")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#exp", EXPIRES)
            .expression_attribute_names("#c", CLAIMANT)
            .expression_attribute_values(":now", num(now))
            .expression_attribute_values(":c", AttributeValue::S(claimant.as_str().to_owned()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match put {
            Ok(_) => Ok(Claim::Won),
            Err(e) if is_condition_failure(&e) => {
                // The holder comes back with the refusal where the service supports it;
                // otherwise read it.
                let returned = e
                    .as_service_error()
                    .and_then(|s| match s {
                        aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => c.item.as_ref(),
                        _ => None,
                    })
                    .map(item_from)
                    .transpose()?;
                let held = match returned {
                    Some(item) => Some(item),
                    None => self.get_consistent(key).await?,
                };
                match held {
                    // Cannot fail the condition above, but a claim is never refused by itself.
                    Some(item) if item.claimant == claimant.as_str() => Ok(Claim::Won),
                    Some(item) => Ok(Claim::Held(item)),
                    // Gone between the refusal and the read: whoever held it let go, and the
                    // claim is still not ours; report it as held by nobody in particular.
                    None => Ok(Claim::Held(Item {
                        key: key.clone(),
                        value: String::new(),
                        claimant: String::new(),
                        adder: String::new(),
                        count: 0,
                        expires_at: None,
                    })),
                }
            }
            Err(e) => Err(StateError::backend("PutItem", key, e)),
        }
    }

    async fn put(
        &self,
        key: &Key,
        value: String,
        expires_at: Option<i64>,
    ) -> Result<(), StateError> {
        let mut item = Self::key_attrs(key);
        item.insert(VALUE.to_owned(), AttributeValue::S(value));
        if let Some(at) = expires_at {
            item.insert(EXPIRES.to_owned(), num(at));
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| StateError::backend("PutItem", key, e))?;
        Ok(())
    }

    async fn get(&self, key: &Key, now: i64) -> Result<Option<Item>, StateError> {
        Ok(self.get_consistent(key).await?.filter(|i| i.is_live(now)))
    }

    async fn delete(&self, key: &Key, only_if: Option<&str>) -> Result<bool, StateError> {
        let mut call = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key_attrs(key)));
        if let Some(v) = only_if {
            call = call
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", VALUE)
                .expression_attribute_values(":v", AttributeValue::S(v.to_owned()));
        }
        match call.send().await {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(StateError::backend("DeleteItem", key, e)),
        }
    }

    async fn add(
        &self,
        key: &Key,
        amount: i64,
        limit: Option<i64>,
        adder: &Claimant,
        expires_at: Option<i64>,
        now: i64,
    ) -> Result<Added, StateError> {
        for _ in 0..ADD_TRIES {
            let mut call = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(Self::key_attrs(key)))
                .expression_attribute_names("#n", COUNT)
                .expression_attribute_names("#a", ADDER)
                .expression_attribute_values(":amount", num(amount))
                .expression_attribute_values(":a", AttributeValue::S(adder.as_str().to_owned()))
                .return_values(ReturnValue::UpdatedNew);
            call = match expires_at {
                Some(at) => call
                    .update_expression("ADD #n :amount SET #a = :a, #exp = :exp")
                    .expression_attribute_values(":exp", num(at)),
                None => call.update_expression("ADD #n :amount SET #a = :a"),
            };
            // A live counter only: an expired one is reset below, never added to.
            // Not this add again: one whose answer was lost has already counted.
            let mut condition =
                "(attribute_not_exists(#exp) OR #exp > :now) AND (attribute_not_exists(#a) OR #a <> :a)"
                    .to_owned();
            call = call
                .expression_attribute_names("#exp", EXPIRES)
                .expression_attribute_values(":now", num(now));
            if amount > 0 {
                if let Some(limit) = limit {
                    let room = limit - amount;
                    if room < 0 {
                        let count = self.get(key, now).await?.map_or(0, |i| i.count);
                        return Ok(Added::Refused(count));
                    }
                    condition.push_str(" AND (attribute_not_exists(#n) OR #n <= :room)");
                    call = call.expression_attribute_values(":room", num(room));
                }
            }
            match call.condition_expression(condition).send().await {
                Ok(out) => {
                    let total = out
                        .attributes
                        .as_ref()
                        .and_then(|a| a.get(COUNT))
                        .and_then(|v| v.as_n().ok())
                        .and_then(|n| n.parse().ok())
                        .unwrap_or(amount);
                    return Ok(Added::To(total));
                }
                Err(e) if is_condition_failure(&e) => {
                    let Some(item) = self.get_consistent(key).await? else {
                        continue;
                    };
                    if item.adder == adder.as_str() {
                        // Our own earlier attempt landed; its answer was lost.
                        return Ok(Added::To(item.count));
                    }
                    if item.is_live(now) {
                        return Ok(Added::Refused(item.count));
                    }
                    // Expired (TTL deletes lazily): start the counter again, but only if it is
                    // still the expired one, then add as usual.
                    let mut fresh = Self::key_attrs(key);
                    fresh.insert(COUNT.to_owned(), num(0));
                    if let Some(at) = expires_at {
                        fresh.insert(EXPIRES.to_owned(), num(at));
                    }
                    let reset = self
                        .client
                        .put_item()
                        .table_name(&self.table)
                        .set_item(Some(fresh))
                        .condition_expression("#exp <= :now")
                        .expression_attribute_names("#exp", EXPIRES)
                        .expression_attribute_values(":now", num(now))
                        .send()
                        .await;
                    match reset {
                        Ok(_) => {}
                        Err(e) if is_condition_failure(&e) => {}
                        Err(e) => return Err(StateError::backend("PutItem", key, e)),
                    }
                }
                Err(e) => return Err(StateError::backend("UpdateItem", key, e)),
            }
        }
        Err(StateError::backend(
            "UpdateItem",
            key,
            "the counter kept changing under a reset; try again",
        ))
    }

    async fn query_latest(
        &self,
        pk: &str,
        limit: usize,
        now: i64,
    ) -> Result<Vec<Item>, StateError> {
        let key = Key::new(pk, "");
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .filter_expression("attribute_not_exists(#exp) OR #exp > :now")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#exp", EXPIRES)
                .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
                .expression_attribute_values(":now", num(now))
                .scan_index_forward(false)
                .consistent_read(true)
                .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| StateError::backend("Query", &key, e))?;
            for attrs in out.items() {
                if items.len() == limit {
                    return Ok(items);
                }
                items.push(item_from(attrs)?);
            }
            match out.last_evaluated_key {
                Some(next) if items.len() < limit => start = Some(next),
                _ => return Ok(items),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The store's contract against a real DynamoDB-compatible server: dynalite, which
    //! `scripts/test-tools.sh` installs (`PATH="$(scripts/test-tools.sh):$PATH"`).

    use std::sync::Arc;
    use std::time::Duration;

    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };

    use super::*;

    /// A dynalite process on a free port, killed when dropped.
    struct Dynalite {
        child: std::process::Child,
        endpoint: String,
    }

    impl Drop for Dynalite {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    async fn dynalite() -> Dynalite {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("dynalite")
            .args(["--port", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("dynalite is not on PATH: run with PATH=\"$(scripts/test-tools.sh):$PATH\"");
        let started = std::time::Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "dynalite did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Dynalite {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A client for `endpoint` and a table keyed as the template declares it (`pk`, `sk`).
    async fn table(endpoint: &str) -> DynamoState {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(crate::net::aws_http_client())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .endpoint_url(endpoint)
            .build();
        let client = Client::from_conf(config);
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap()
        };
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .unwrap()
        };
        client
            .create_table()
            .table_name("marquee-state-test")
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr(PK))
            .attribute_definitions(attr(SK))
            .key_schema(key(PK, KeyType::Hash))
            .key_schema(key(SK, KeyType::Range))
            .send()
            .await
            .unwrap();
        // dynalite, like DynamoDB, creates tables asynchronously.
        loop {
            let status = client
                .describe_table()
                .table_name("marquee-state-test")
                .send()
                .await
                .unwrap()
                .table
                .and_then(|t| t.table_status);
            if status == Some(aws_sdk_dynamodb::types::TableStatus::Active) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        DynamoState::new(client, "marquee-state-test")
    }

    #[tokio::test]
    async fn the_dynamodb_store_keeps_the_contract() {
        let server = dynalite().await;
        let store = Arc::new(table(&server.endpoint).await);
        crate::state::contract::all(store).await;
    }

    #[tokio::test]
    async fn a_missing_table_is_an_error_that_names_the_operation() {
        let server = dynalite().await;
        let store = table(&server.endpoint).await;
        let store = DynamoState::new(store.client, "no-such-table");
        let e = store
            .get(&Key::new("job#1", "run"), 0)
            .await
            .expect_err("no table");
        assert!(e.to_string().contains("GetItem"), "{e}");
    }
}
