//! A platform that records posts in memory, for tests and demos. It records every call,
//! duplicates included, so a test can see a post made twice.

use super::{Composed, Platform, Post, Posted, SocialError, text};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Name of the in-memory outbox ([`posts`] reads it).
    pub outbox: String,
    /// Fail the first N attempts with a transient error (to exercise retries). Default: 0.
    #[serde(default)]
    pub fail_first: u32,
    /// Behave like a platform that cannot edit posts. Default: false.
    #[serde(default)]
    pub no_edit: bool,
}

/// A recorded call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub key: String,
    pub text: String,
    pub locale: String,
    /// `post`, `edit` or `delete`.
    pub action: &'static str,
}

/// Per outbox: failures given so far, and the posts.
type Outboxes = HashMap<String, (u32, Vec<Record>)>;

static OUTBOXES: LazyLock<Mutex<Outboxes>> = LazyLock::new(Mutex::default);

/// What the outbox `name` holds, oldest first.
pub fn posts(name: &str) -> Vec<Record> {
    OUTBOXES
        .lock()
        .expect("outbox lock")
        .get(name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

#[derive(Debug)]
pub struct Stub {
    outbox: String,
    fail_first: u32,
    no_edit: bool,
}

impl Stub {
    pub fn new(c: &Config) -> Self {
        Self {
            outbox: c.outbox.clone(),
            fail_first: c.fail_first,
            no_edit: c.no_edit,
        }
    }

    /// Records an edit or delete of the post with index `posted.remote_id`.
    fn log(&self, posted: &Posted, action: &'static str, text: String) {
        let mut boxes = OUTBOXES.lock().expect("outbox lock");
        let (_, records) = boxes.entry(self.outbox.clone()).or_default();
        let original = posted
            .remote_id
            .parse::<usize>()
            .ok()
            .and_then(|i| records.get(i).cloned());
        if let Some(o) = original {
            records.push(Record {
                key: o.key,
                text,
                locale: o.locale,
                action,
            });
        }
    }
}

#[async_trait::async_trait]
impl Platform for Stub {
    fn name(&self) -> &'static str {
        "stub"
    }

    fn compose(&self, post: &Post) -> Composed {
        Composed {
            text: text::fit(&post.parts, &text::Budget::MASTODON),
            facets: None,
        }
    }

    async fn healthcheck(&self) -> Result<(), SocialError> {
        Ok(())
    }

    async fn post(&self, post: &Post) -> Result<Posted, SocialError> {
        let mut boxes = OUTBOXES.lock().expect("outbox lock");
        let (failures, records) = boxes.entry(self.outbox.clone()).or_default();
        if *failures < self.fail_first {
            *failures += 1;
            return Err(SocialError::transient("stub: temporary failure"));
        }
        records.push(Record {
            key: post.key.clone(),
            text: self.compose(post).text,
            locale: post.locale.clone(),
            action: "post",
        });
        Ok(Posted {
            remote_id: (records.len() - 1).to_string(),
            url: None,
        })
    }

    async fn delete(&self, posted: &Posted) -> Result<(), SocialError> {
        self.log(posted, "delete", String::new());
        Ok(())
    }

    fn can_edit(&self) -> bool {
        !self.no_edit
    }

    async fn edit(&self, posted: &Posted, post: &Post) -> Result<Posted, SocialError> {
        self.log(posted, "edit", self.compose(post).text);
        Ok(posted.clone())
    }
}
