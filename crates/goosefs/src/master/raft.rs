//! openraft's types for the masters and its network: Raft messages travel as JSON over HTTP to
//! each master's embedded journal port (`goosefs.master.embedded.journal.port`). The server side
//! of these routes lives here too, including the vote gate: a master that lost its journal
//! refuses every vote request until it has rejoined (see `master::membership`).

use std::io::Cursor;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use openraft::BasicNode;
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::namespace::{Command, Reply};
use crate::net::{Http, NetError};
use crate::proto::paths;

/// A master's Raft id: its position in `goosefs.master.embedded.journal.addresses`.
pub type NodeId = u64;

openraft::declare_raft_types!(
    /// The masters' Raft types.
    pub TypeConfig:
        D = Command,
        R = Reply,
        NodeId = NodeId,
        Node = BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
);

/// The Raft handle.
pub type Raft = openraft::Raft<TypeConfig>;

/// What `/raft/state` tells a starting peer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerState {
    /// The group has had a leader (entries after the initial membership, or a snapshot): a
    /// master with an empty journal must rejoin it, never initialise.
    pub established: bool,
    /// The peer's log is complete (it initialised the group or has rejoined it).
    pub member: bool,
}

/// Connects to the other masters' journal ports.
#[derive(Clone, Default)]
pub struct Network {
    http: Http,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Peer {
        Peer {
            target,
            address: node.addr.clone(),
            http: self.http.clone(),
        }
    }
}

/// One peer's journal port.
pub struct Peer {
    target: NodeId,
    address: String,
    http: Http,
}

impl Peer {
    async fn send<Req: Serialize, Resp: DeserializeOwned, E: std::error::Error + DeserializeOwned>(
        &self,
        path: &str,
        request: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>> {
        let answer = self
            .http
            .call(&self.address, path, Some(request), option.hard_ttl())
            .await;
        self.answered(path, answer)
    }

    /// openraft's view of a peer's answer. (The error type is the one openraft's
    /// [`RaftNetwork`] methods return: not ours to shrink.)
    #[allow(clippy::result_large_err)]
    fn answered<Resp, E: std::error::Error>(
        &self,
        path: &str,
        answer: Result<Result<Resp, RaftError<NodeId, E>>, NetError>,
    ) -> Result<Resp, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>> {
        match answer {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(remote)) => Err(RPCError::RemoteError(RemoteError::new(self.target, remote))),
            // Refused connections back off; so does a request the peer refused as malformed or
            // too large (4xx): resending it at once would be refused again, and it is logged, not
            // mistaken for a network failure. A timeout or a refused vote (503) retries.
            Err(e @ (NetError::Unreachable { .. } | NetError::Resolve { .. })) => {
                Err(RPCError::Unreachable(Unreachable::new(&e)))
            }
            Err(e @ NetError::Status { status: 400..=499, .. }) => {
                tracing::error!(peer = %self.address, path, error = %e, "a master refused a journal request");
                Err(RPCError::Unreachable(Unreachable::new(&e)))
            }
            Err(e) => Err(RPCError::Network(NetworkError::new(&e))),
        }
    }
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.send(paths::RAFT_APPEND, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>>
    {
        let answer = self
            .http
            .call_bytes(
                &self.address,
                paths::RAFT_SNAPSHOT,
                encode_chunk(&rpc),
                option.hard_ttl(),
            )
            .await;
        self.answered(paths::RAFT_SNAPSHOT, answer)
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.send(paths::RAFT_VOTE, &rpc, &option).await
    }

    fn backoff(&self) -> openraft::network::Backoff {
        openraft::network::Backoff::new(std::iter::repeat(Duration::from_millis(200)))
    }
}

/// What the journal port's handlers share.
#[derive(Clone)]
pub struct RaftPort {
    /// The Raft handle.
    pub raft: Raft,
    /// Open once this master's log is known complete; closed, vote requests are refused.
    pub votes_allowed: Arc<AtomicBool>,
    /// Whether the journal holds a Raft group, and whether this member is complete.
    pub state: Arc<dyn Fn() -> PeerState + Send + Sync>,
    /// The snapshot being received and the end of what arrived of it.
    pub chunks: Arc<std::sync::Mutex<SnapshotChunks>>,
}

/// Snapshot chunks as they arrive. openraft 0.9 checks only that a new snapshot starts at
/// offset 0; within one it seeks to any offset, and the snapshot lives in a `Vec` in memory,
/// so a chunk far past the end would zero-fill memory up to it. Chunks come in order (a
/// resent one may repeat an offset): a chunk that would leave a gap is refused.
#[derive(Debug, Default)]
pub struct SnapshotChunks {
    current: Option<(String, u64)>,
}

impl SnapshotChunks {
    /// Admits a chunk of `len` bytes at `offset` of snapshot `id`.
    ///
    /// # Errors
    /// Why not, one line.
    pub fn admit(&mut self, id: &str, offset: u64, len: usize) -> Result<(), String> {
        let end = offset
            .checked_add(len as u64)
            .ok_or_else(|| format!("invalid: snapshot {id}: offset {offset} overflows"))?;
        match &mut self.current {
            Some((current, received)) if current == id => {
                if offset > *received {
                    return Err(format!(
                        "invalid: snapshot {id}: a chunk at {offset} after {received} bytes leaves a gap"
                    ));
                }
                *received = (*received).max(end);
            }
            _ if offset == 0 => self.current = Some((id.to_owned(), end)),
            // openraft refuses it too (a new snapshot starts at 0); nothing is recorded.
            _ => {}
        }
        Ok(())
    }
}

/// Bytes of snapshot per chunk (binary: about the size of its request).
pub const SNAPSHOT_CHUNK: u64 = 1 << 20;
/// Entries per append request; with entries of at most [`MAX_ENTRY`] bytes, an append's body is
/// bounded by [`MAX_APPEND_BODY`].
pub const APPEND_ENTRIES: u64 = 64;
/// The most bytes of commands the leader packs into one journal entry (`rpc::batch_writes`).
pub const MAX_ENTRY: usize = 1 << 20;
/// The largest append request a master takes: [`APPEND_ENTRIES`] entries of [`MAX_ENTRY`]
/// bytes, JSON-encoded (entries carry their own JSON: about twice the size).
pub const MAX_APPEND_BODY: usize = 2 * APPEND_ENTRIES as usize * MAX_ENTRY + (1 << 20);
/// The largest snapshot chunk request: a chunk and its header.
pub const MAX_SNAPSHOT_BODY: usize = SNAPSHOT_CHUNK as usize + (64 << 10);

/// The journal port's routes, each with its body limit (axum's default is 2 MiB).
pub fn routes(port: RaftPort) -> axum::Router {
    use axum::extract::DefaultBodyLimit;
    axum::Router::new()
        .route(
            paths::RAFT_APPEND,
            post(append).layer(DefaultBodyLimit::max(MAX_APPEND_BODY)),
        )
        .route(paths::RAFT_VOTE, post(vote))
        .route(
            paths::RAFT_SNAPSHOT,
            post(snapshot).layer(DefaultBodyLimit::max(MAX_SNAPSHOT_BODY)),
        )
        .route(paths::RAFT_STATE, get(state))
        .with_state(port)
}

/// A snapshot chunk's request without its bytes: the JSON head of [`encode_chunk`].
#[derive(Serialize, Deserialize)]
struct ChunkHead {
    vote: openraft::Vote<NodeId>,
    meta: openraft::SnapshotMeta<NodeId, BasicNode>,
    offset: u64,
    done: bool,
}

/// A snapshot chunk as its request carries it: a big-endian `u32` length, that many bytes of
/// JSON ([`ChunkHead`]), then the chunk's bytes as they are (JSON would write each byte as a
/// number: 3.4 times the size).
pub fn encode_chunk(rpc: &InstallSnapshotRequest<TypeConfig>) -> Vec<u8> {
    let head = ChunkHead {
        vote: rpc.vote,
        meta: rpc.meta.clone(),
        offset: rpc.offset,
        done: rpc.done,
    };
    let head = serde_json::to_vec(&head).unwrap_or_default();
    let mut body = Vec::with_capacity(4 + head.len() + rpc.data.len());
    body.extend_from_slice(&u32::try_from(head.len()).unwrap_or(u32::MAX).to_be_bytes());
    body.extend_from_slice(&head);
    body.extend_from_slice(&rpc.data);
    body
}

/// Decodes [`encode_chunk`]'s bytes.
///
/// # Errors
/// Why they are not a chunk.
pub fn decode_chunk(body: &[u8]) -> Result<InstallSnapshotRequest<TypeConfig>, String> {
    let (len, rest) = body
        .split_first_chunk::<4>()
        .ok_or("a snapshot chunk without its head")?;
    let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|e| e.to_string())?;
    if len > rest.len() {
        return Err(format!("a snapshot chunk head of {len} bytes in {} bytes", rest.len()));
    }
    let (head, data) = rest.split_at(len);
    let head: ChunkHead = serde_json::from_slice(head).map_err(|e| format!("a snapshot chunk head: {e}"))?;
    Ok(InstallSnapshotRequest {
        vote: head.vote,
        meta: head.meta,
        offset: head.offset,
        data: data.to_vec(),
        done: head.done,
    })
}

async fn append(
    State(port): State<RaftPort>,
    Json(rpc): Json<AppendEntriesRequest<TypeConfig>>,
) -> Json<Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>> {
    Json(port.raft.append_entries(rpc).await)
}

async fn vote(
    State(port): State<RaftPort>,
    Json(rpc): Json<VoteRequest<NodeId>>,
) -> Result<Json<Result<VoteResponse<NodeId>, RaftError<NodeId>>>, (StatusCode, &'static str)> {
    // A member that lost its journal may have voted in a term it no longer remembers, or acked
    // entries it no longer has: its vote must not count until it has rejoined.
    if !port.votes_allowed.load(Ordering::SeqCst) {
        return Err((
            StatusCode::SERVICE_UNAVAILABLE,
            "rejoining: this master does not vote yet",
        ));
    }
    Ok(Json(port.raft.vote(rpc).await))
}

async fn snapshot(
    State(port): State<RaftPort>,
    body: axum::body::Bytes,
) -> Result<Json<Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>>, (StatusCode, String)>
{
    let rpc = decode_chunk(&body).map_err(|why| (StatusCode::BAD_REQUEST, format!("invalid: {why}\n")))?;
    let admitted = port
        .chunks
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .admit(&rpc.meta.snapshot_id, rpc.offset, rpc.data.len());
    admitted.map_err(|why| (StatusCode::BAD_REQUEST, format!("{why}\n")))?;
    Ok(Json(port.raft.install_snapshot(rpc).await))
}

async fn state(State(port): State<RaftPort>) -> Json<PeerState> {
    Json((port.state)())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_chunks_travel_as_bytes_and_junk_is_refused() {
        let rpc = InstallSnapshotRequest::<TypeConfig> {
            vote: openraft::Vote::new_committed(3, 1),
            meta: openraft::SnapshotMeta {
                last_log_id: None,
                last_membership: openraft::StoredMembership::default(),
                snapshot_id: "s-1".to_owned(),
            },
            offset: 1 << 20,
            data: (0..=255u8).cycle().take(300_000).collect(),
            done: true,
        };
        let body = encode_chunk(&rpc);
        assert!(body.len() < rpc.data.len() + 512, "bytes as they are: {}", body.len());
        let back = decode_chunk(&body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (
                back.vote,
                back.offset,
                back.done,
                &back.meta.snapshot_id,
                back.data.len()
            ),
            (rpc.vote, rpc.offset, rpc.done, &rpc.meta.snapshot_id, rpc.data.len())
        );
        assert_eq!(back.data, rpc.data);
        for junk in [
            &[][..],
            &[0, 0],
            &[0, 0, 0, 9, b'{'],
            &u32::MAX.to_be_bytes(),
            b"\x00\x00\x00\x02{}",
        ] {
            assert!(decode_chunk(junk).is_err(), "{junk:?}");
        }
        // The chunk and its head fit the route's body limit.
        assert!(SNAPSHOT_CHUNK as usize + 512 < MAX_SNAPSHOT_BODY);
    }

    #[test]
    fn snapshot_chunks_come_in_order_or_again_never_past_a_gap() {
        let mut c = SnapshotChunks::default();
        assert!(c.admit("s1", 0, 100).is_ok());
        assert!(c.admit("s1", 100, 100).is_ok());
        assert!(c.admit("s1", 100, 100).is_ok(), "a resent chunk");
        let gap = c.admit("s1", 1 << 40, 1).err().unwrap_or_default();
        assert_eq!(
            gap,
            "invalid: snapshot s1: a chunk at 1099511627776 after 200 bytes leaves a gap"
        );
        assert!(c.admit("s1", u64::MAX, 2).is_err(), "overflow");
        // A new snapshot starts again at 0.
        assert!(c.admit("s2", 0, 10).is_ok());
        assert!(c.admit("s2", 300, 1).is_err());
    }
}
