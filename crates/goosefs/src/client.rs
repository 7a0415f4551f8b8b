//! The masters' client, as `goosefs fs`, workers and FUSE use it: it tries the master addresses
//! in order, follows a follower's pointer to the leader, and retries with back-off (no leader
//! yet, a leader change, an unreachable master) until `goosefs.user.rpc.retry.max.duration`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::ClientConfig;
use crate::net::{Http, NetError};
use crate::proto::path::list_query;
use crate::proto::{Answer, FileInfo, LIST_PAGE, ListPage, Refusal, RefusalKind};

/// A finished client command: what to print and whether it succeeded.
pub type Printed = Result<String, ClientError>;

/// One request's time limit.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a request failed for good.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The master refused it (bad path, exists, a credential or role it does not accept, ...):
    /// retrying will not help.
    #[error("{0}")]
    Refused(Refusal),
    /// No master served it within the retry limit.
    #[error("no leading master answered within {after:?} (tried {tried}); last: {last}")]
    NoLeader {
        /// Retry limit.
        after: Duration,
        /// Addresses tried.
        tried: String,
        /// The last failure.
        last: String,
    },
    /// No job master took a job (`distributedLoad`).
    #[error("no job master took the load (tried {tried}); last: {last}")]
    NoJobMaster {
        /// Addresses tried.
        tried: String,
        /// The last failure.
        last: String,
    },
}

/// A refusal of this process's credential or role: final, never retried.
pub fn denial(e: &NetError) -> Option<ClientError> {
    let (kind, message) = match e {
        NetError::Auth { .. } => (RefusalKind::Unauthenticated, e.to_string()),
        NetError::Status { status: 401, body, .. } => (RefusalKind::Unauthenticated, body.trim_end().to_owned()),
        NetError::Status { status: 403, body, .. } => (RefusalKind::Forbidden, body.trim_end().to_owned()),
        _ => return None,
    };
    Some(ClientError::Refused(Refusal::new(kind, message)))
}

/// A depth-first walk over a tree, one page per directory on the way down: memory follows the
/// tree's depth, not its size (a `find` over a million files holds a few pages).
pub struct Walk<'a> {
    client: &'a MasterClient,
    stack: Vec<Frame>,
}

/// A directory being walked: the rest of its current page, and where the next page starts.
struct Frame {
    path: String,
    page: std::collections::VecDeque<FileInfo>,
    next: Option<String>,
}

impl Walk<'_> {
    /// The next entry, `None` at the end. A directory comes before what it holds.
    ///
    /// # Errors
    /// [`ClientError`] when a directory cannot be listed.
    pub async fn next(&mut self) -> Result<Option<FileInfo>, ClientError> {
        while let Some(top) = self.stack.last_mut() {
            if let Some(entry) = top.page.pop_front() {
                if entry.folder && entry.path != top.path {
                    let page = self.client.list_page(&entry.path, None, LIST_PAGE).await?;
                    self.stack.push(Frame {
                        path: entry.path.clone(),
                        page: page.entries.into(),
                        next: page.next,
                    });
                }
                return Ok(Some(entry));
            }
            match top.next.take() {
                Some(after) => {
                    let page = self.client.list_page(&top.path, Some(&after), LIST_PAGE).await?;
                    top.page = page.entries.into();
                    top.next = page.next;
                }
                None => {
                    self.stack.pop();
                }
            }
        }
        Ok(None)
    }
}

/// A client of the masters.
#[derive(Clone)]
pub struct MasterClient {
    masters: Vec<String>,
    retry_for: Duration,
    http: Http,
    /// The last master that served: tried first, so a request costs one round trip.
    leader: Arc<Mutex<Option<String>>>,
}

impl MasterClient {
    /// A client for these settings.
    pub fn new(config: &ClientConfig) -> MasterClient {
        MasterClient {
            masters: config.masters.clone(),
            retry_for: config.retry_for,
            http: Http::default(),
            leader: Arc::default(),
        }
    }

    /// The master addresses, in order.
    pub fn masters(&self) -> &[String] {
        &self.masters
    }

    /// Asks one master, without following or retrying.
    ///
    /// # Errors
    /// [`NetError`].
    pub async fn ask<B: Serialize, R: DeserializeOwned>(
        &self,
        address: &str,
        path: &str,
        body: Option<&B>,
    ) -> Result<Answer<R>, NetError> {
        self.http.call(address, path, body, REQUEST_TIMEOUT).await
    }

    /// One page of directory `path`: the entries after name `after`, at most `limit`.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn list_page(&self, path: &str, after: Option<&str>, limit: usize) -> Result<ListPage, ClientError> {
        self.call::<(), _>(&list_query(path, after, limit), None).await
    }

    /// A walk over everything below `root` (a file: the file itself), in path order.
    ///
    /// # Errors
    /// [`ClientError`] when `root` cannot be listed.
    pub async fn walk(&self, root: &str) -> Result<Walk<'_>, ClientError> {
        let first = self.list_page(root, None, LIST_PAGE).await?;
        Ok(Walk {
            client: self,
            stack: vec![Frame {
                path: root.to_owned(),
                page: first.entries.into(),
                next: first.next,
            }],
        })
    }

    /// Sends a request to the leader: follows pointers, retries until the limit.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: Option<&B>,
    ) -> Result<R, ClientError> {
        if self.masters.is_empty() {
            return Err(ClientError::Refused(Refusal::invalid(
                "no master address is configured",
            )));
        }
        let deadline = Instant::now() + self.retry_for;
        let mut pause = Duration::from_millis(50);
        let mut next: Option<String> = self.leader.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let mut i = 0usize;
        // Pointers followed in a row: stale views can point in a circle.
        let mut hops = 0usize;
        let mut last: String;
        loop {
            // A pointer from a follower first; else the next address in turn.
            let address = match next.take() {
                Some(a) => a,
                None => {
                    let a = self.masters[i % self.masters.len()].clone();
                    i += 1;
                    a
                }
            };
            match self.ask::<B, R>(&address, path, body).await {
                Ok(Answer::Ok(value)) => {
                    let mut leader = self.leader.lock().unwrap_or_else(PoisonError::into_inner);
                    if leader.as_deref() != Some(address.as_str()) {
                        *leader = Some(address);
                    }
                    return Ok(value);
                }
                Ok(Answer::Refused(reason)) => return Err(ClientError::Refused(reason)),
                Ok(Answer::NotLeader { leader: Some(leader) }) if leader != address && hops < self.masters.len() => {
                    hops += 1;
                    next = Some(leader);
                    continue;
                }
                Ok(Answer::NotLeader { .. }) => last = format!("{address}: no leader yet"),
                Err(e) => match denial(&e) {
                    Some(denied) => return Err(denied),
                    None => last = e.to_string(),
                },
            }
            hops = 0;
            // A full round without an answer: back off before the next.
            if i.is_multiple_of(self.masters.len()) {
                if Instant::now() + pause > deadline {
                    return Err(ClientError::NoLeader {
                        after: self.retry_for,
                        tried: self.masters.join(", "),
                        last,
                    });
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
            }
        }
    }
}
