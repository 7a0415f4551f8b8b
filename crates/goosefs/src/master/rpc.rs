//! The RPC port's handlers ([`crate::api`]): the leader serves, followers name the leader.
//! Writes go through Raft and are answered once applied; reads are served from the leader's
//! memory while its lease holds (else after confirming leadership with a quorum).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use serde::Deserialize;

use super::Master;
use super::namespace::{Command, Kind, Reply, normal};
use crate::api::{Answer, FileInfo, MasterInfo, MountEntry, Rejoin, Report, is_secret_key, paths};

/// How long a write may take to commit before the client is told to retry.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The RPC port's routes.
pub fn routes(master: Arc<Master>) -> axum::Router {
    axum::Router::new()
        .route(paths::INFO, get(info))
        .route(paths::WRITE, post(write))
        .route(paths::MOUNTS, get(mounts))
        .route(paths::STAT, get(stat))
        .route(paths::LIST, get(list))
        .route(paths::REPORT, get(report))
        .route(paths::REJOIN, post(rejoin))
        .with_state(master)
}

async fn info(State(master): State<Arc<Master>>) -> Json<Answer<MasterInfo>> {
    let term = master.raft.metrics().borrow().current_term;
    Json(Answer::Ok(MasterInfo {
        leader: master.leader_id().and_then(|id| master.rpc_address_of(id)),
        masters: master.rpc_addresses(),
        term,
    }))
}

fn not_leader<T>(master: &Master) -> Answer<T> {
    Answer::NotLeader {
        leader: master
            .leader_id()
            .filter(|id| *id != master.cfg.id)
            .and_then(|id| master.rpc_address_of(id)),
    }
}

async fn write(State(master): State<Arc<Master>>, Json(command): Json<Command>) -> Json<Answer<()>> {
    if master.stepping_down.load(Ordering::SeqCst) {
        return Json(Answer::NotLeader { leader: None });
    }
    if matches!(command, Command::Rejoined { .. } | Command::Batch(_)) {
        return Json(Answer::Refused("not a client command".to_owned()));
    }
    // The leader fixes times, so every master journals the same value.
    let mut command = command;
    command.stamp(now_ms());
    master.in_flight.fetch_add(1, Ordering::SeqCst);
    let (reply, answer) = tokio::sync::oneshot::channel();
    let answer = match master.writes.send((command, reply)).await {
        Ok(()) => answer.await.unwrap_or(Answer::NotLeader { leader: None }),
        Err(_) => Answer::NotLeader { leader: None },
    };
    master.in_flight.fetch_sub(1, Ordering::SeqCst);
    Json(answer)
}

/// A client write waiting for its batch, and where its answer goes.
pub type QueuedWrite = (Command, tokio::sync::oneshot::Sender<Answer<()>>);

/// Journals queued client writes: everything queued while earlier entries commit becomes the
/// next entry (one Raft entry, one flush on each master, for many writes). A few entries are in
/// flight at once, so one entry's replication overlaps the next one's flush on the leader.
pub async fn batch_writes(master: Arc<Master>, mut queue: tokio::sync::mpsc::Receiver<QueuedWrite>) {
    const MAX_BATCH: usize = 1024;
    const IN_FLIGHT: usize = 3;
    let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    while let Some(first) = queue.recv().await {
        // Wait for a slot first: writes keep queueing meanwhile and join this batch.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        let master = master.clone();
        tokio::spawn(async move {
            let (mut commands, replies): (Vec<Command>, Vec<_>) = batch.into_iter().unzip();
            let entry = if commands.len() == 1 {
                commands.remove(0)
            } else {
                Command::Batch(commands)
            };
            let answers = commit(&master, entry, replies.len()).await;
            drop(slot);
            for (reply, answer) in replies.into_iter().zip(answers) {
                let _ = reply.send(answer);
            }
        });
    }
}

/// Journals one entry and gives each of its `count` commands its answer.
async fn commit(master: &Master, entry: Command, count: usize) -> Vec<Answer<()>> {
    let to_answer = |reply: Reply| match reply {
        Reply::Done => Answer::Ok(()),
        Reply::Refused(reason) => Answer::Refused(reason),
        Reply::Batch(_) => Answer::Refused("unexpected nested reply".to_owned()),
    };
    let failed = |answer: Answer<()>| (0..count).map(|_| answer.clone()).collect();
    match tokio::time::timeout(WRITE_TIMEOUT, master.raft.client_write(entry)).await {
        Ok(Ok(response)) => match response.data {
            Reply::Batch(replies) => replies.into_iter().map(to_answer).collect(),
            single => vec![to_answer(single)],
        },
        Ok(Err(e)) => match e.forward_to_leader::<openraft::BasicNode>() {
            Some(forward) => failed(Answer::NotLeader {
                leader: forward.leader_id.and_then(|id| master.rpc_address_of(id)),
            }),
            None => {
                tracing::warn!(error = %e, "write failed");
                failed(Answer::NotLeader { leader: None })
            }
        },
        // No quorum within the limit (a cut-off leader): the clients try the others. The entry
        // may still commit later; commands are checked on apply, so a retry is refused, not doubled.
        Err(_) => {
            tracing::warn!("write not committed within {WRITE_TIMEOUT:?}: no quorum?");
            failed(Answer::NotLeader { leader: None })
        }
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Runs `read` on the applied state if this master may serve reads.
async fn read<T>(master: &Master, read: impl FnOnce(&super::namespace::Namespace) -> Answer<T>) -> Answer<T> {
    if let Err(leader) = master.ensure_leader_for_read().await {
        return Answer::NotLeader { leader };
    }
    let applied = master
        .journal
        .applied
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    read(&applied.namespace)
}

async fn mounts(State(master): State<Arc<Master>>) -> Json<Answer<Vec<MountEntry>>> {
    let root = master.cfg.root_ufs.clone();
    Json(
        read(&master, |ns| {
            let mut out = vec![MountEntry {
                path: "/".to_owned(),
                ufs: root,
                read_only: false,
                shared: false,
                options: Default::default(),
            }];
            out.extend(ns.mounts.iter().map(|(path, m)| {
                MountEntry {
                    path: path.clone(),
                    ufs: m.ufs.clone(),
                    read_only: m.read_only,
                    shared: m.shared,
                    // Secret values stay in the journal; the table shows that they are set.
                    options: m
                        .options
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                if is_secret_key(k) {
                                    "******".to_owned()
                                } else {
                                    v.clone()
                                },
                            )
                        })
                        .collect(),
                }
            }));
            Answer::Ok(out)
        })
        .await,
    )
}

#[derive(Deserialize)]
struct PathQuery {
    path: String,
}

fn file_info(ns: &super::namespace::Namespace, root_ufs: &str, path: &str) -> Option<FileInfo> {
    let (id, folder, length, mtime_ms) = if path == "/" {
        (0, true, 0, 0)
    } else {
        let inode = ns.inodes.get(path)?;
        (inode.id, inode.kind == Kind::Directory, inode.length, inode.mtime_ms)
    };
    let ufs_path = match ns.mount_of(path) {
        Some(mount) => {
            let ufs = &ns.mounts[mount].ufs;
            format!("{}{}", ufs.trim_end_matches('/'), &path[mount.len()..])
        }
        None => format!(
            "{}{}",
            root_ufs.trim_end_matches('/'),
            if path == "/" { "" } else { path }
        ),
    };
    Some(FileInfo {
        id,
        path: path.to_owned(),
        folder,
        length,
        mtime_ms,
        mount_point: path == "/" || ns.mounts.contains_key(path),
        ufs_path,
    })
}

async fn stat(State(master): State<Arc<Master>>, Query(q): Query<PathQuery>) -> Json<Answer<FileInfo>> {
    let root = master.cfg.root_ufs.clone();
    Json(
        read(&master, |ns| match normal(&q.path) {
            Err(e) => Answer::Refused(e),
            Ok(path) => file_info(ns, &root, path).map_or_else(
                || Answer::Refused(format!("Path \"{path}\" does not exist.")),
                Answer::Ok,
            ),
        })
        .await,
    )
}

async fn list(State(master): State<Arc<Master>>, Query(q): Query<PathQuery>) -> Json<Answer<Vec<FileInfo>>> {
    let root = master.cfg.root_ufs.clone();
    Json(
        read(&master, |ns| match normal(&q.path) {
            Err(e) => Answer::Refused(e),
            Ok(path) => match file_info(ns, &root, path) {
                None => Answer::Refused(format!("Path \"{path}\" does not exist.")),
                Some(info) if !info.folder => Answer::Ok(vec![info]),
                Some(_) => Answer::Ok(
                    ns.children(path)
                        .into_iter()
                        .filter_map(|(child, _)| file_info(ns, &root, child))
                        .collect(),
                ),
            },
        })
        .await,
    )
}

async fn report(State(master): State<Arc<Master>>) -> Json<Answer<Report>> {
    let term = master.raft.metrics().borrow().current_term;
    let leader = master.rpc_address_of(master.cfg.id).unwrap_or_default();
    let embedded = master.cfg.journal_type == crate::config::JournalType::Embedded;
    let journal_addresses = if embedded {
        master.cfg.members.iter().map(ToString::to_string).collect()
    } else {
        Vec::new()
    };
    let started_ms = master
        .started
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let (web_port, rpc_port) = (master.cfg.web_port, master.cfg.rpc_port);
    Json(
        read(&master, |ns| {
            Answer::Ok(Report {
                leader,
                web_port,
                rpc_port,
                started_ms,
                journal_addresses,
                term,
                mounts: ns.mounts.len() + 1,
            })
        })
        .await,
    )
}

async fn rejoin(State(master): State<Arc<Master>>, Json(request): Json<Rejoin>) -> Json<Answer<()>> {
    if master.raft.metrics().borrow().state != openraft::ServerState::Leader {
        return Json(not_leader(&master));
    }
    Json(super::membership::handle_rejoin(&master, &request).await)
}
