//! Who administers an installation's Marquee: its Slack workspace admins and owners, as
//! `users.info` reports them (`user.is_admin`, `is_owner`, `is_primary_owner`), and the users
//! `MARQUEE_ADMINS` names — in both cases only members of the installation itself. A Slack
//! Connect guest is never an admin here, whatever their own workspace makes them: their
//! `user.team_id` (the click's, and `users.info`'s) is another workspace's.
//!
//! `users.info` answers are kept for [`CACHE_FOR`], at most [`CACHE_LEN`] of them, so opening
//! Home and clicking Settings a moment later asks Slack once; a demotion takes effect within
//! that minute.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use marquee_core::errors::ErrorChain;
use marquee_core::job::Requester;
use marquee_core::slack::web::{SlackUser, WebClient};

/// How long a `users.info` answer is trusted.
const CACHE_FOR: Duration = Duration::from_secs(60);
/// How many answers are kept at most (memory bounded by people, not by time).
const CACHE_LEN: usize = 1000;

/// The admins of every installation this deployment serves. Cheap to clone.
#[derive(Clone, Default)]
pub struct Admins {
    /// `MARQUEE_ADMINS`.
    named: Arc<Vec<String>>,
    seen: Arc<Mutex<HashMap<String, (Instant, SlackUser)>>>,
}

impl Admins {
    pub(crate) fn new(named: Vec<String>) -> Self {
        Self {
            named: Arc::new(named),
            seen: Arc::default(),
        }
    }

    /// Whether `requester` administers the installation they act in (`team_id`, or the org of
    /// an org-wide install). Decided on `user.id`, the click's `user.team_id` when there is one,
    /// and Slack's `users.info` — never on anything a view carries. Unknown (no bot token,
    /// Slack unreachable): not an admin.
    pub(crate) async fn is_admin(&self, requester: &Requester, web: Option<&WebClient>) -> bool {
        // The click's own workspace, when known, settles a Slack Connect guest at once.
        if requester.user_team_id.is_some() && requester.is_external_to(&installation(requester)) {
            return false;
        }
        let Some(web) = web else {
            return false;
        };
        let info = match self.user_info(web, &requester.user_id).await {
            Ok(info) => info,
            Err(e) => {
                tracing::warn!(error = %ErrorChain(&e), "could not ask slack who an admin is; treated as not one");
                return false;
            }
        };
        let (team, org) = (
            requester.team_id.as_deref(),
            requester.enterprise_id.as_deref(),
        );
        if !info.belongs_to(team, org) {
            return false;
        }
        self.named.contains(&requester.user_id) || info.administers(team, org)
    }

    /// [`Self::is_admin`] asking Slack afresh, for what writes (a settings submission): a
    /// demotion counts at once there.
    pub(crate) async fn is_admin_now(
        &self,
        requester: &Requester,
        web: Option<&WebClient>,
    ) -> bool {
        self.lock().remove(&requester.user_id);
        self.is_admin(requester, web).await
    }

    async fn user_info(
        &self,
        web: &WebClient,
        user: &str,
    ) -> Result<SlackUser, marquee_core::slack::web::WebError> {
        let now = Instant::now();
        if let Some((at, info)) = self.lock().get(user) {
            if now.duration_since(*at) < CACHE_FOR {
                return Ok(info.clone());
            }
        }
        let info = web.user_info(user).await?;
        let mut seen = self.lock();
        seen.retain(|_, (at, _)| now.duration_since(*at) < CACHE_FOR);
        if seen.len() < CACHE_LEN {
            seen.insert(user.to_owned(), (now, info.clone()));
        }
        Ok(info)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, SlackUser)>> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The installation as a requester of its own: what `is_external_to` compares with.
fn installation(requester: &Requester) -> Requester {
    Requester {
        user_id: String::new(),
        team_id: requester.team_id.clone(),
        enterprise_id: requester.enterprise_id.clone(),
        ..Default::default()
    }
}
