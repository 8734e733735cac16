//! Durable state: run markers, locks, poster records, approvals, quota counters and the usage
//! ledger — everything Marquee must remember that is not a poster's bytes.
//!
//! One small trait, [`StateStore`], with two implementations: a DynamoDB table in AWS
//! ([`dynamo`]) and files on local disk ([`local`]), the embedded default. The operations are
//! the few DynamoDB does atomically on one item, without transactions: a conditional put
//! ([`StateStore::claim`]), a conditional counter ([`StateStore::add`]), plain put, get and
//! delete, and a query over one partition, newest first. Everything that must happen at most
//! once is built from `claim`; everything that must stay under a limit from `add`.
//!
//! Items may carry an expiry (Unix seconds, DynamoDB's TTL attribute). TTL deletion is lazy —
//! DynamoDB removes expired items within days, not at once — so every read and every
//! condition here treats an expired item as absent, whichever store holds it. The local store
//! also deletes them itself, a bounded batch at a time, so its file stays bounded.
//!
//! Every claim carries a [`Claimant`] token, unique to whoever claims. A write can land and
//! its answer be lost (DynamoDB's SDK then retries the same conditional put, which now finds
//! the item there); an item held by the caller's own token is therefore the caller's claim,
//! [`Claim::Won`], never someone else's.
//!
//! `StateStore` trait: the few single-item operations DynamoDB does atomically without transactions
//! — `claim` (a conditional put that also takes over an expired item), `add` (a counter that
//! refuses to pass its limit), `put`, `get`, `delete` (optionally only if the value is still ours)
//! and `query_latest` over one partition. Every claim carries a `Claimant`, a random token unique
//! to whoever claims (a delivery, a click, a request — never derived from a job, so a second
//! delivery is another claimant), stored with the item: an item held by the caller's own token is
//! `Won`, so a claim whose write landed but whose answer was lost (the SDK retries it, and the
//! retry finds the item) is never taken for someone else's. `dynamo` (one on-demand table,
//! `pk`/`sk`, TTL on `expires_at`, strongly consistent reads; exactly `PutItem`, `GetItem`,
//! `UpdateItem`, `DeleteItem`, `Query`; a claim's condition is "absent, expired, or this
//! claimant's") and `local` (SQLite, bundled: one table in `state.sqlite3` in the data directory,
//! write-ahead log with `synchronous=NORMAL`, cached statements; one writer thread owns the
//! connection, runs every operation off the async threads and commits what has queued as one
//! transaction, answering each caller only after its commit; between batches it deletes expired
//! items, at most 1,000 per sweep, every 30 s or at once while a sweep finds a full batch, so the
//! file stays bounded. SQLite over redb by measurement: BENCHMARKS.md, "The local state store").
//! Expired items read as absent everywhere, since TTL deletes lazily. One contract test runs
//! against both (dynalite for DynamoDB).

pub mod checkpoint;
pub mod dynamo;
pub mod local;

use async_trait::async_trait;

/// Where an item lives: a partition and a sort key within it (the table's `pk` and `sk`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub pk: String,
    pub(crate) sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

/// Who makes a claim: a random token, unique to one claimant, stored with the item it wins.
/// Make a new one for every attempt that must count once (a job's delivery, a click, a
/// request): never derive it from a job or a poster, or a second delivery of the same job
/// would find the first one's claim and take it for its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimant(String);

impl Claimant {
    /// A fresh token (a random UUID).
    pub fn new() -> Self {
        Claimant(uuid::Uuid::new_v4().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Claimant {
    fn default() -> Self {
        Self::new()
    }
}

/// A stored item: its JSON value, its counter and its expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub(crate) key: Key,
    /// The item's document (JSON); empty for a bare counter.
    pub value: String,
    /// The token of the claim that wrote it; empty for items written by `put` or `add`.
    pub(crate) claimant: String,
    /// The token of the last [`StateStore::add`] applied to it; empty when none ran.
    pub(crate) adder: String,
    /// The counter [`StateStore::add`] keeps; 0 when it never ran.
    pub count: i64,
    /// Unix seconds after which the item is treated as absent.
    pub(crate) expires_at: Option<i64>,
}

impl Item {
    /// Whether the item still counts at `now` (Unix seconds).
    pub(crate) fn is_live(&self, now: i64) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// What a [`StateStore::claim`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The item was written: the caller holds the claim.
    Won,
    /// A live item was already there; it is returned as found.
    Held(Item),
}

/// What a [`StateStore::add`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// The counter now stands at this total.
    To(i64),
    /// The addition would have passed the limit; nothing changed. The counter stands at this
    /// total (as read just after the refusal, so it may have moved since).
    Refused(i64),
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("the state store refused or failed {op} on {pk}")]
    Backend {
        op: &'static str,
        pk: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("a stored item under {pk} is malformed")]
    Malformed {
        pk: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StateError {
    pub(crate) fn backend(
        op: &'static str,
        key: &Key,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        StateError::Backend {
            op,
            pk: key.pk.clone(),
            source: source.into(),
        }
    }
}

/// The durable state Marquee keeps. Every method is one atomic operation on one item (or a
/// read of one partition); none needs a transaction.
#[async_trait]
pub trait StateStore: Send + Sync {
    /// Writes `value` under `key` unless a live item is there (none, or only one expired at
    /// `now`): the building block of run markers, locks, replay guards and first-wins approvals.
    /// Taking over an expired item is part of the same atomic write. An item already written
    /// by `claimant` (its own earlier write, whose answer was lost) is [`Claim::Won`] too.
    async fn claim(
        &self,
        key: &Key,
        value: String,
        claimant: &Claimant,
        expires_at: Option<i64>,
        now: i64,
    ) -> Result<Claim, StateError>;

    /// Writes `value` under `key`, replacing whatever is there (its counter included).
    async fn put(
        &self,
        key: &Key,
        value: String,
        expires_at: Option<i64>,
    ) -> Result<(), StateError>;

    /// The live item under `key`, if any.
    async fn get(&self, key: &Key, now: i64) -> Result<Option<Item>, StateError>;

    /// Removes `key`. With `only_if`, removes it only while its value is exactly that
    /// (so a lock is released only by its holder) and says whether it did.
    async fn delete(&self, key: &Key, only_if: Option<&str>) -> Result<bool, StateError>;

    /// Adds `amount` (negative to refund) to the counter under `key`, unless the total would
    /// pass `limit`; sets the item's expiry when given. An expired counter starts again from 0.
    /// Refunds (`amount <= 0`) are never refused. `adder` is a fresh token per logical add:
    /// an add whose write landed but whose answer was lost is retried with the same token,
    /// finds its own token as the counter's last, and answers the total without adding again.
    async fn add(
        &self,
        key: &Key,
        amount: i64,
        limit: Option<i64>,
        adder: &Claimant,
        expires_at: Option<i64>,
        now: i64,
    ) -> Result<Added, StateError>;

    /// Up to `limit` live items of partition `pk`, highest sort key first.
    async fn query_latest(&self, pk: &str, limit: usize, now: i64)
    -> Result<Vec<Item>, StateError>;
}

#[cfg(test)]
pub(crate) mod contract {
    //! The behaviour every [`StateStore`] must show, run against each implementation.

    use std::sync::Arc;

    use super::*;

    pub(crate) async fn claims_are_exclusive_until_they_expire(store: &dyn StateStore) {
        let key = Key::new("job#1", "run");
        let (a, b, c, d) = (
            Claimant::new(),
            Claimant::new(),
            Claimant::new(),
            Claimant::new(),
        );
        assert_eq!(
            store
                .claim(&key, "a".to_owned(), &a, Some(100), 50)
                .await
                .unwrap(),
            Claim::Won
        );
        match store
            .claim(&key, "b".to_owned(), &b, Some(200), 60)
            .await
            .unwrap()
        {
            Claim::Held(item) => {
                assert_eq!(item.value, "a");
                assert_eq!(item.expires_at, Some(100));
                assert_eq!(item.claimant, a.as_str());
            }
            other => panic!("second claim: {other:?}"),
        }
        // Expired at 100: taken over at 101, atomically.
        assert_eq!(
            store
                .claim(&key, "c".to_owned(), &c, None, 101)
                .await
                .unwrap(),
            Claim::Won
        );
        assert_eq!(store.get(&key, 10_000).await.unwrap().unwrap().value, "c");
        // No expiry: held for good.
        assert!(matches!(
            store
                .claim(&key, "d".to_owned(), &d, None, 10_000)
                .await
                .unwrap(),
            Claim::Held(_)
        ));
    }

    /// A claim whose write landed but whose answer was lost is made again with the same token
    /// (as DynamoDB's SDK retries the same request): it is still the claimant's, and only its.
    pub(crate) async fn a_claim_made_again_by_its_claimant_is_still_won(store: &dyn StateStore) {
        let key = Key::new("request#lost", "seen");
        let (ours, theirs) = (Claimant::new(), Claimant::new());
        for attempt in 0..2 {
            assert_eq!(
                store
                    .claim(&key, "ours".to_owned(), &ours, Some(100), 10 + attempt)
                    .await
                    .unwrap(),
                Claim::Won,
                "attempt {attempt}"
            );
        }
        match store
            .claim(&key, "theirs".to_owned(), &theirs, Some(100), 12)
            .await
            .unwrap()
        {
            Claim::Held(item) => assert_eq!(item.value, "ours"),
            other => panic!("another claimant: {other:?}"),
        }
        // A plain put carries no claimant: the item is nobody's claim any more.
        store.put(&key, "put".to_owned(), Some(100)).await.unwrap();
        assert!(matches!(
            store
                .claim(&key, "ours".to_owned(), &ours, Some(100), 13)
                .await
                .unwrap(),
            Claim::Held(item) if item.value == "put" && item.claimant.is_empty()
        ));
    }

    pub(crate) async fn concurrent_claims_have_one_winner(store: Arc<dyn StateStore>) {
        let key = Key::new("poster#race", "approval");
        let mut tasks = Vec::new();
        for i in 0..16 {
            let store = store.clone();
            let key = key.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .claim(&key, i.to_string(), &Claimant::new(), None, 1)
                    .await
                    .unwrap()
            }));
        }
        let mut won = 0;
        for t in tasks {
            if t.await.unwrap() == Claim::Won {
                won += 1;
            }
        }
        assert_eq!(won, 1);
    }

    pub(crate) async fn expired_items_read_as_absent(store: &dyn StateStore) {
        let key = Key::new("request#abc", "seen");
        store.put(&key, "{}".to_owned(), Some(100)).await.unwrap();
        assert!(store.get(&key, 99).await.unwrap().is_some());
        assert!(store.get(&key, 100).await.unwrap().is_none());
        assert!(
            store
                .get(&Key::new("nothing", "here"), 0)
                .await
                .unwrap()
                .is_none()
        );
    }

    pub(crate) async fn deletes_can_be_conditional(store: &dyn StateStore) {
        let key = Key::new("poster#1", "lock");
        store.put(&key, "mine".to_owned(), None).await.unwrap();
        assert!(!store.delete(&key, Some("theirs")).await.unwrap());
        assert!(store.get(&key, 0).await.unwrap().is_some());
        assert!(store.delete(&key, Some("mine")).await.unwrap());
        assert!(store.get(&key, 0).await.unwrap().is_none());
        // Deleting what is not there is not an error.
        store.delete(&key, None).await.unwrap();
    }

    pub(crate) async fn counters_stop_at_their_limit_and_refund(store: &dyn StateStore) {
        let key = Key::new("quota#user#T#U", "2026-12-02");
        assert_eq!(
            store
                .add(&key, 2, Some(3), &Claimant::new(), Some(1_000), 10)
                .await
                .unwrap(),
            Added::To(2)
        );
        assert_eq!(
            store
                .add(&key, 2, Some(3), &Claimant::new(), Some(1_000), 10)
                .await
                .unwrap(),
            Added::Refused(2)
        );
        assert_eq!(
            store
                .add(&key, 1, Some(3), &Claimant::new(), Some(1_000), 10)
                .await
                .unwrap(),
            Added::To(3)
        );
        assert_eq!(
            store
                .add(&key, -1, Some(3), &Claimant::new(), Some(1_000), 10)
                .await
                .unwrap(),
            Added::To(2)
        );
        // Past its expiry the counter starts again.
        assert_eq!(
            store
                .add(&key, 3, Some(3), &Claimant::new(), Some(2_000), 1_000)
                .await
                .unwrap(),
            Added::To(3)
        );
        assert_eq!(store.get(&key, 1_500).await.unwrap().unwrap().count, 3);
    }

    /// An add retried with its own token (its first write landed, its answer was lost) counts
    /// once, at a limit too; another adder's token still counts.
    pub(crate) async fn an_add_made_again_by_its_adder_counts_once(store: &dyn StateStore) {
        let key = Key::new("quota#workspace#T", "2026-12");
        let ours = Claimant::new();
        assert_eq!(
            store
                .add(&key, 2, Some(4), &ours, Some(1_000), 10)
                .await
                .unwrap(),
            Added::To(2)
        );
        assert_eq!(
            store
                .add(&key, 2, Some(4), &ours, Some(1_000), 10)
                .await
                .unwrap(),
            Added::To(2),
            "the retry answers the total its first write made"
        );
        assert_eq!(
            store
                .add(&key, 2, Some(4), &Claimant::new(), Some(1_000), 10)
                .await
                .unwrap(),
            Added::To(4)
        );
        // At the limit, our own retry is still answered as done, not refused.
        let last = Claimant::new();
        assert_eq!(
            store
                .add(&key, -1, Some(4), &last, Some(1_000), 10)
                .await
                .unwrap(),
            Added::To(3)
        );
        assert_eq!(
            store
                .add(&key, -1, Some(4), &last, Some(1_000), 10)
                .await
                .unwrap(),
            Added::To(3)
        );
        assert_eq!(store.get(&key, 10).await.unwrap().unwrap().count, 3);
    }

    pub(crate) async fn a_burst_never_passes_a_limit(store: Arc<dyn StateStore>) {
        let key = Key::new("quota#channel#T#C", "2026-12-02");
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let store = store.clone();
            let key = key.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .add(&key, 1, Some(7), &Claimant::new(), None, 1)
                    .await
                    .unwrap()
            }));
        }
        let mut granted = 0;
        for t in tasks {
            if matches!(t.await.unwrap(), Added::To(_)) {
                granted += 1;
            }
        }
        assert_eq!(granted, 7);
        assert_eq!(store.get(&key, 1).await.unwrap().unwrap().count, 7);
    }

    pub(crate) async fn queries_return_the_latest_first(store: &dyn StateStore) {
        for (sk, exp) in [
            ("0001", None),
            ("0003", None),
            ("0002", None),
            ("0004", Some(5)),
        ] {
            store
                .put(&Key::new("history#T#U", sk), sk.to_owned(), exp)
                .await
                .unwrap();
        }
        store
            .put(&Key::new("history#T#V", "0009"), "other".to_owned(), None)
            .await
            .unwrap();
        let got: Vec<String> = store
            .query_latest("history#T#U", 2, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.key.sk)
            .collect();
        assert_eq!(got, ["0003", "0002"]);
    }

    /// Every check above, against one store.
    pub(crate) async fn all(store: Arc<dyn StateStore>) {
        claims_are_exclusive_until_they_expire(store.as_ref()).await;
        a_claim_made_again_by_its_claimant_is_still_won(store.as_ref()).await;
        concurrent_claims_have_one_winner(store.clone()).await;
        expired_items_read_as_absent(store.as_ref()).await;
        deletes_can_be_conditional(store.as_ref()).await;
        counters_stop_at_their_limit_and_refund(store.as_ref()).await;
        an_add_made_again_by_its_adder_counts_once(store.as_ref()).await;
        a_burst_never_passes_a_limit(store.clone()).await;
        queries_return_the_latest_first(store.as_ref()).await;
    }
}
