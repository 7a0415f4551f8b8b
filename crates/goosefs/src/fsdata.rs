//! The `goosefs fs` commands that move bytes (`cat`, `head`, `tail`, `copyToLocal`, `load`,
//! `distributedLoad`, `free`, `du`) and `fsadmin report capacity`, in GooseFS's (Alluxio's)
//! output formats. Bytes go through [`crate::reader`].

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use crate::client::{ClientError, MasterClient, Printed};
use crate::net::Http;
use crate::proto::path::query;
use crate::proto::{FileBlocks, FileInfo, WorkerReport, paths};
use crate::reader::{FileReader, Locality, ReadError};

/// Why a data command failed.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// Reading failed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Writing the output failed.
    #[error("{what}: {source}")]
    Output {
        /// What was written.
        what: String,
        /// Cause.
        source: std::io::Error,
    },
}

impl From<ClientError> for DataError {
    fn from(e: ClientError) -> Self {
        DataError::Read(ReadError::Master(e))
    }
}

/// How much is read per request (a block read can be this big at most).
const PIECE: u64 = 8 << 20;

/// Streams `[from, to)` of `path` into `out`.
async fn copy_range(
    client: &MasterClient,
    locality: &Locality,
    path: &str,
    range: impl FnOnce(u64) -> (u64, u64),
    out: &mut dyn std::io::Write,
) -> Result<u64, DataError> {
    let reader = FileReader::open(client, &Http::default(), path, locality).await?;
    let (from, to) = range(reader.length().await);
    let mut at = from;
    while at < to {
        let bytes = reader.read(at, PIECE.min(to - at)).await?;
        if bytes.is_empty() {
            break;
        }
        out.write_all(&bytes).map_err(|source| DataError::Output {
            what: "standard output".into(),
            source,
        })?;
        at += bytes.len() as u64;
    }
    Ok(at - from)
}

/// `fs cat`, `fs head -c N`, `fs tail -c N`: the bytes to standard output.
///
/// # Errors
/// [`DataError`].
pub async fn cat(
    client: &MasterClient,
    locality: &Locality,
    path: &str,
    head: Option<u64>,
    tail: Option<u64>,
) -> Result<(), DataError> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    copy_range(
        client,
        locality,
        path,
        |length| match (head, tail) {
            (Some(n), _) => (0, n.min(length)),
            (None, Some(n)) => (length.saturating_sub(n), length),
            (None, None) => (0, length),
        },
        &mut out,
    )
    .await?;
    out.flush().map_err(|source| DataError::Output {
        what: "standard output".into(),
        source,
    })
}

/// `fs copyToLocal <src> <dst>`: written to a temporary file beside `dst`, then renamed.
///
/// # Errors
/// [`DataError`].
pub async fn copy_to_local(
    client: &MasterClient,
    locality: &Locality,
    src: &str,
    dst: &Path,
) -> Result<String, DataError> {
    let dst = if dst.is_dir() {
        dst.join(src.rsplit('/').next().unwrap_or("file"))
    } else {
        dst.to_owned()
    };
    let output = |source| DataError::Output {
        what: dst.display().to_string(),
        source,
    };
    let tmp = dst.with_file_name(format!(
        ".{}.goosefs-tmp-{}",
        dst.file_name().and_then(|n| n.to_str()).unwrap_or("copy"),
        std::process::id()
    ));
    let file = std::fs::File::create(&tmp).map_err(output)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let copied = copy_range(client, locality, src, |length| (0, length), &mut out).await;
    let finished = copied.and_then(|n| {
        let file = out.into_inner().map_err(|e| output(e.into_error()))?;
        file.sync_all().map_err(output)?;
        std::fs::rename(&tmp, &dst).map_err(output)?;
        Ok(n)
    });
    if finished.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    finished?;
    Ok(format!("Copied {src} to {}\n", dst.display()))
}

/// Every file at or under `path`, in path order.
pub async fn files_under(client: &MasterClient, path: &str) -> Result<Vec<FileInfo>, ClientError> {
    let mut out = Vec::new();
    let mut walk = client.walk(path).await?;
    while let Some(e) = walk.next().await? {
        if !e.folder {
            out.push(e);
        }
    }
    Ok(out)
}

/// `fs load`: every block of every file under `path` cached by the workers (each block by the
/// worker it maps to), from this client, with progress lines. (`fs distributedLoad` goes through
/// the job master: [`crate::jobs`].)
///
/// # Errors
/// [`DataError`] when a file cannot be loaded (the others still are).
pub async fn load(client: &MasterClient, path: &str) -> Result<String, DataError> {
    let files = files_under(client, path).await?;
    let http = Http::default();
    let locality = Locality {
        timeout: std::time::Duration::from_secs(300),
        ..Locality::default()
    };
    let mut out = String::new();
    let mut failed = Vec::new();
    let stdout = std::io::stdout();
    for file in &files {
        let result = async {
            let reader = FileReader::open(client, &http, &file.path, &locality).await?;
            for block in reader.blocks().await {
                reader.load(&block).await?;
            }
            Ok::<_, ReadError>(())
        }
        .await;
        let line = match result {
            Ok(()) => format!("Successfully loaded path {}", file.path),
            Err(e) => {
                failed.push(e.to_string());
                format!("Failed to load path {}: {e}", file.path)
            }
        };
        // Progress as it happens (a load of many files takes a while).
        let _ = writeln!(stdout.lock(), "{line}");
    }
    let _ = writeln!(out, "{path} loaded");
    match failed.into_iter().next() {
        None => Ok(out),
        Some(first) => Err(DataError::Read(ReadError::Master(ClientError::Refused(
            crate::proto::Refusal::failed(first),
        )))),
    }
}

/// `fs free`: drops the cached blocks of every file under `path`.
///
/// # Errors
/// [`DataError`].
pub async fn free(client: &MasterClient, path: &str) -> Result<String, DataError> {
    for file in files_under(client, path).await? {
        let fb: FileBlocks = client.call::<(), _>(&query(paths::BLOCKS, &file.path), None).await?;
        let ids: Vec<u64> = fb.blocks.iter().map(|b| b.id).collect();
        if !ids.is_empty() {
            // The leader has the workers drop them: only a master may free on a worker.
            client.call::<_, usize>(paths::FREE_BLOCKS, Some(&ids)).await?;
        }
    }
    Ok(format!("{path} was successfully freed from GooseFS space.\n"))
}

/// `fs du`: size and cached bytes of each file under `path`.
///
/// # Errors
/// [`DataError`].
pub async fn du(client: &MasterClient, path: &str, summary: bool) -> Result<String, DataError> {
    let mut out = String::from("File Size     In GooseFS       Path\n");
    let line = |out: &mut String, length: u64, cached: u64, path: &str| {
        let share = (cached * 100).checked_div(length).unwrap_or(100);
        let _ = writeln!(out, "{length:<13} {:<16} {path}", format!("{cached} ({share}%)"));
    };
    let (mut length, mut cached) = (0u64, 0u64);
    // Streamed: a summary of a million files holds one page of the walk, not the file list.
    let mut walk = client.walk(path).await?;
    while let Some(file) = walk.next().await? {
        if file.folder {
            continue;
        }
        let fb: FileBlocks = client.call::<(), _>(&query(paths::BLOCKS, &file.path), None).await?;
        let in_cache: u64 = fb
            .blocks
            .iter()
            .filter(|b| !b.workers.is_empty())
            .map(|b| b.length)
            .sum();
        length += file.length;
        cached += in_cache;
        if !summary {
            line(&mut out, file.length, in_cache, &file.path);
        }
    }
    if summary {
        line(&mut out, length, cached, path);
    }
    Ok(out)
}

/// Bytes as GooseFS prints them: plain up to 5 KB, then KB/MB/GB/TB/PB with two decimals.
pub fn size(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let mut v = bytes as f64;
    if v <= 5.0 * 1024.0 {
        return format!("{bytes}B");
    }
    for unit in ["KB", "MB", "GB", "TB"] {
        v /= 1024.0;
        if v <= 5.0 * 1024.0 {
            return format!("{v:.2}{unit}");
        }
    }
    format!("{:.2}PB", v / 1024.0)
}

/// Capacity and use summed over `tiers`.
pub fn totals<'a>(tiers: impl IntoIterator<Item = &'a crate::proto::TierUsage>) -> (u64, u64) {
    tiers.into_iter().fold((0, 0), |(c, u), t| (c + t.capacity, u + t.used))
}

/// The live workers, from the leader.
///
/// # Errors
/// [`ClientError`].
pub async fn workers(client: &MasterClient) -> Result<Vec<WorkerReport>, ClientError> {
    client.call::<(), _>(paths::WORKERS, None).await
}

/// `fsadmin report capacity`: totals per tier, then each worker's capacity and use.
///
/// # Errors
/// [`ClientError`].
pub async fn report_capacity(client: &MasterClient) -> Printed {
    let mut workers = workers(client).await?;
    workers.sort_by(|a, b| a.address.host.cmp(&b.address.host));
    let mut tiers: Vec<(String, u64, u64)> = Vec::new();
    for w in &workers {
        for t in &w.tiers {
            match tiers.iter_mut().find(|(a, _, _)| *a == t.alias) {
                Some(e) => {
                    e.1 += t.capacity;
                    e.2 += t.used;
                }
                None => tiers.push((t.alias.clone(), t.capacity, t.used)),
            }
        }
    }
    let (total, used): (u64, u64) = tiers.iter().fold((0, 0), |(c, u), t| (c + t.1, u + t.2));
    let percent = |u: u64, c: u64| (u * 100).checked_div(c).unwrap_or(0);
    let mut out = String::from("Capacity information for all workers: \n");
    let _ = writeln!(out, "    Total Capacity: {}", size(total));
    for (alias, c, _) in &tiers {
        let _ = writeln!(out, "        Tier: {alias}  Size: {}", size(*c));
    }
    let _ = writeln!(out, "    Used Capacity: {}", size(used));
    for (alias, _, u) in &tiers {
        let _ = writeln!(out, "        Tier: {alias}  Size: {}", size(*u));
    }
    let _ = writeln!(out, "    Used Percentage: {}%", percent(used, total));
    let _ = writeln!(out, "    Free Percentage: {}%", 100 - percent(used, total).min(100));
    let _ = writeln!(out);
    let name_width = workers.iter().map(|w| w.address.host.len()).max().unwrap_or(0).max(16);
    let _ = write!(
        out,
        "{:<name_width$} {:<16} {:<13}",
        "Worker Name", "Last Heartbeat", "Storage"
    );
    for (alias, _, _) in &tiers {
        let _ = write!(out, " {alias:<12}");
    }
    out.push('\n');
    for w in &workers {
        let _ = write!(
            out,
            "{:<name_width$} {:<16} {:<13}",
            w.address.host,
            w.last_heartbeat_ms / 1000,
            "capacity"
        );
        let (wc, wu) = totals(&w.tiers);
        for (alias, _, _) in &tiers {
            let c = w.tiers.iter().find(|t| &t.alias == alias).map_or(0, |t| t.capacity);
            let _ = write!(out, " {:<12}", size(c));
        }
        out.push('\n');
        let _ = write!(
            out,
            "{:<name_width$} {:<16} {:<13}",
            "",
            "",
            format!("used {}%", percent(wu, wc))
        );
        for (alias, _, _) in &tiers {
            let u = w.tiers.iter().find(|t| &t.alias == alias).map_or(0, |t| t.used);
            let _ = write!(out, " {:<12}", size(u));
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_print_as_goosefs_does() {
        assert_eq!(super::size(0), "0B");
        assert_eq!(super::size(5120), "5120B");
        assert_eq!(super::size(2_000_000_000), "1907.35MB");
        assert_eq!(super::size(6_000_000_000), "5.59GB");
    }
}
