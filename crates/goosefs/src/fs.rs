//! `goosefs fs ...` and `goosefs fsadmin ...`: client commands against the leading master, printed
//! in GooseFS's (Alluxio's) formats, which scripts parse (the rendered mount Job reads the third
//! field of `fs mount`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::client::{ClientError, MasterClient, Printed};
use crate::proto::path::query;
use crate::proto::{FileInfo, MasterInfo, MountEntry, Report, Write, paths};

/// `fs masterInfo`: the leader as the first master that knows one sees it, then all masters.
///
/// # Errors
/// [`ClientError::NoLeader`] when no master names a leader within the retry limit.
pub async fn master_info(client: &MasterClient, retry_for: Duration) -> Printed {
    let deadline = std::time::Instant::now() + retry_for;
    let mut last = String::from("no answer");
    loop {
        for address in client.masters() {
            match client.ask::<(), MasterInfo>(address, paths::INFO, None).await {
                Ok(crate::proto::Answer::Ok(info)) => match &info.leader {
                    // Followers keep naming a leader that just died until its lease runs out:
                    // believe a leader only when it says so itself.
                    Some(leader) if confirmed(client, leader).await => {
                        return Ok(format!(
                            "current leader master: {leader}\nAll masters: [{}]\n",
                            info.masters.join(", ")
                        ));
                    }
                    Some(leader) => last = format!("{address}: names {leader}, which does not confirm"),
                    None => last = format!("{address}: no leader yet"),
                },
                Ok(_) => last = format!("{address}: unexpected answer"),
                Err(e) => match crate::client::denial(&e) {
                    Some(denied) => return Err(denied),
                    None => last = e.to_string(),
                },
            }
        }
        if std::time::Instant::now() >= deadline {
            return Err(ClientError::NoLeader {
                after: retry_for,
                tried: client.masters().join(", "),
                last,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Whether `leader` says it leads.
async fn confirmed(client: &MasterClient, leader: &str) -> bool {
    matches!(
        client.ask::<(), MasterInfo>(leader, paths::INFO, None).await,
        Ok(crate::proto::Answer::Ok(MasterInfo { leader: Some(l), .. })) if l == leader
    )
}

/// The UFS type GooseFS names in the mount table.
fn ufs_type(ufs: &str) -> String {
    match ufs.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase()) {
        None => "local".to_owned(),
        Some(s) if s == "http" || s == "https" => "web".to_owned(),
        Some(s) if s == "file" || s == "local" => "local".to_owned(),
        Some(s) if s == "s3a" => "s3".to_owned(),
        Some(s) if s == "cosn" => "cos".to_owned(),
        Some(s) => s,
    }
}

/// The mount table, one line per mount: `<ufs>  on  <path>  (<type>, ...)`.
pub fn format_mounts(mounts: &[MountEntry]) -> String {
    let shown: Vec<String> = mounts
        .iter()
        .map(|m| crate::proto::path::redact_uri(&m.ufs).into_owned())
        .collect();
    let ufs_width = shown.iter().map(String::len).max().unwrap_or(0);
    let path_width = mounts.iter().map(|m| m.path.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (m, ufs) in mounts.iter().zip(&shown) {
        let properties: Vec<String> = m.options.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(
            out,
            "{:<ufs_width$}  on  {:<path_width$}  ({}, capacity=-1B, used=-1B, {}read-only, {}shared, properties={{{}}})",
            ufs,
            m.path,
            ufs_type(&m.ufs),
            if m.read_only { "" } else { "not " },
            if m.shared { "" } else { "not " },
            properties.join(", ")
        );
    }
    out
}

/// `fs mount` without arguments.
///
/// # Errors
/// [`ClientError`].
pub async fn mounts(client: &MasterClient) -> Printed {
    let mounts: Vec<MountEntry> = client.call::<(), _>(paths::MOUNTS, None).await?;
    Ok(format_mounts(&mounts))
}

/// `fs mount [--readonly] [--shared] [--option k=v]... <path> <ufs>`.
///
/// # Errors
/// [`ClientError`].
pub async fn mount(
    client: &MasterClient,
    path: &str,
    ufs: &str,
    read_only: bool,
    shared: bool,
    options: BTreeMap<String, String>,
) -> Printed {
    let command = Write::Mount {
        path: path.to_owned(),
        ufs: ufs.to_owned(),
        read_only,
        shared,
        options,
    };
    client.call::<_, ()>(paths::WRITE, Some(&command)).await?;
    Ok(format!("Mounted {} at {path}\n", crate::proto::path::redact_uri(ufs)))
}

/// `fs unmount <path>`.
///
/// # Errors
/// [`ClientError`].
pub async fn unmount(client: &MasterClient, path: &str) -> Printed {
    let command = Write::Unmount { path: path.to_owned() };
    client.call::<_, ()>(paths::WRITE, Some(&command)).await?;
    Ok(format!("Unmounted {path}\n"))
}

/// `fs mkdir <path>...`: parents are created as needed; an existing path is an error.
///
/// # Errors
/// [`ClientError`] at the first path that fails.
pub async fn mkdir(client: &MasterClient, paths_: &[String]) -> Printed {
    let mut out = String::new();
    // In requests of many paths (at most 1,000, and 1 MiB of paths: under the route's body
    // limit), applied in order; the first refusal ends the command.
    let mut chunks: Vec<&[String]> = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, path) in paths_.iter().enumerate() {
        if i > start && (i - start == crate::proto::MAX_BATCHED_WRITES || bytes + path.len() > 1 << 20) {
            chunks.push(&paths_[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += path.len();
    }
    chunks.push(&paths_[start..]);
    for chunk in chunks.into_iter().filter(|c| !c.is_empty()) {
        let mut rest = chunk;
        // The leader changed part-way through a batch: what it applied is answered, the rest is
        // sent again to the new leader (a few times, a moment apart).
        let mut rounds = 0;
        while !rest.is_empty() {
            let batch: Vec<Write> = rest
                .iter()
                .map(|path| Write::Mkdir {
                    path: path.clone(),
                    recursive: true,
                    exist_ok: false,
                })
                .collect();
            let answers: Vec<crate::proto::Answer<()>> = client.call(paths::WRITES, Some(&batch)).await?;
            let mut done = 0;
            for (path, answer) in rest.iter().zip(answers) {
                match answer {
                    crate::proto::Answer::Ok(()) => {
                        let _ = writeln!(out, "Successfully created directory {path}");
                        done += 1;
                    }
                    crate::proto::Answer::Refused(r) => return Err(ClientError::Refused(r)),
                    crate::proto::Answer::NotLeader { .. } => break,
                }
            }
            rest = &rest[done..];
            rounds += 1;
            if !rest.is_empty() {
                if rounds >= 20 {
                    return Err(ClientError::Refused(crate::proto::Refusal::failed(format!(
                        "{}: the leader kept changing while it was being made; run the command again",
                        rest[0]
                    ))));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }
    Ok(out)
}

/// A date as GooseFS's `ls` prints it (UTC): `MM-dd-yyyy HH:mm:ss:SSS`.
pub fn format_time(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = goosefs_conf::duration::civil_from_days(days);
    format!(
        "{month:02}-{day:02}-{year:04} {:02}:{:02}:{:02}:{:03}",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// One `ls` line.
fn ls_line(info: &FileInfo) -> String {
    let (mode, tail) = if info.folder {
        ("drwxr-xr-x", "DIR")
    } else {
        ("-rw-r--r--", "0%")
    };
    format!(
        "{mode}  {:<8} {:<8} {:>12}       PERSISTED {}  {:>3} {}\n",
        "root",
        "root",
        info.length,
        format_time(info.mtime_ms),
        tail,
        info.path
    )
}

/// `fs ls [-R] <path>`: a directory's entries (with `-R`, everything below it, a directory
/// before what it holds), printed page by page as they arrive.
///
/// # Errors
/// [`ClientError`].
pub async fn ls(
    client: &MasterClient,
    path: &str,
    recursive: bool,
    out: &mut dyn std::io::Write,
) -> Result<(), ClientError> {
    let mut print = |e: &FileInfo| {
        // A closed stdout (`| head`) ends the listing; nothing to report.
        let _ = out.write_all(ls_line(e).as_bytes());
    };
    if recursive {
        let mut walk = client.walk(path).await?;
        while let Some(e) = walk.next().await? {
            print(&e);
        }
        return Ok(());
    }
    let mut after: Option<String> = None;
    loop {
        let page = client
            .list_page(path, after.as_deref(), crate::proto::LIST_PAGE)
            .await?;
        page.entries.iter().for_each(&mut print);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(()),
        }
    }
}

/// `fs count <path>`: files, directories (the path itself included, as GooseFS counts) and
/// bytes below a path, in GooseFS's columns (Fluid reads the first field of the second line).
///
/// # Errors
/// [`ClientError`].
pub async fn count(client: &MasterClient, path: &str) -> Printed {
    let root: FileInfo = client.call::<(), _>(&query(paths::STAT, path), None).await?;
    let (mut files, mut folders, mut bytes) = (0u64, u64::from(root.folder), 0u64);
    let mut walk = client.walk(path).await?;
    while let Some(e) = walk.next().await? {
        if e.folder {
            folders += 1;
        } else {
            files += 1;
            bytes += e.length;
        }
    }
    Ok(format!(
        "{:<25}{:<25}{:<15}\n{files:<25}{folders:<25}{bytes:<15}\n",
        "File Count", "Folder Count", "Folder Size"
    ))
}

/// `fs loadMetadata [-R] [-F] <path>`: loads the path's metadata from its UFS into the leader
/// (with `-R`, everything below too; with `-F`, the listings the leader holds there are dropped
/// first, whatever `goosefs.user.file.metadata.sync.interval` says). Prints nothing, as GooseFS.
///
/// # Errors
/// [`ClientError`].
pub async fn load_metadata(client: &MasterClient, path: &str, recursive: bool, force: bool) -> Printed {
    if force {
        let sync = format!("{}&recursive={recursive}", query(paths::SYNC, path));
        client.call::<(), ()>(&sync, Some(&())).await?;
    }
    if recursive {
        let mut walk = client.walk(path).await?;
        while walk.next().await?.is_some() {}
    } else {
        client.list_page(path, None, 1).await?;
    }
    Ok(String::new())
}

/// `fs stat <path>`.
///
/// # Errors
/// [`ClientError`].
pub async fn stat(client: &MasterClient, path: &str) -> Printed {
    let info: FileInfo = client.call::<(), _>(&query(paths::STAT, path), None).await?;
    let what = if info.folder { "a directory" } else { "a file" };
    let name = info.path.rsplit('/').next().unwrap_or_default();
    Ok(format!(
        "{} is {what} path.\nFileInfo{{fileId={}, name={name}, path={}, ufsPath={}, length={}, folder={}, mountPoint={}, lastModificationTimeMs={}}}\n",
        info.path,
        info.id,
        info.path,
        crate::proto::path::redact_uri(&info.ufs_path),
        info.length,
        info.folder,
        info.mount_point,
        info.mtime_ms
    ))
}

/// `fsadmin report`: the cluster summary (exit 0 once a leader answers: the mount Job waits on it).
///
/// # Errors
/// [`ClientError`].
pub async fn report(client: &MasterClient) -> Printed {
    let r: Report = client.call::<(), _>(paths::REPORT, None).await?;
    let uptime_s = (crate::proto::now_ms() - r.started_ms).max(0) / 1000;
    let mut out = String::from("GooseFS cluster summary: \n");
    let mut line = |k: &str, v: String| {
        let _ = writeln!(out, "    {k}: {v}");
    };
    line("Master Address", r.leader.clone());
    line("Web Port", r.web_port.to_string());
    line("Rpc Port", r.rpc_port.to_string());
    line("Started", format_time(r.started_ms));
    line(
        "Uptime",
        format!(
            "{} day(s), {} hour(s), {} minute(s), and {} second(s)",
            uptime_s / 86_400,
            uptime_s / 3600 % 24,
            uptime_s / 60 % 60,
            uptime_s % 60
        ),
    );
    line("Version", env!("CARGO_PKG_VERSION").to_owned());
    line("Safe Mode", "false".to_owned());
    line("Zookeeper Enabled", "false".to_owned());
    line("Raft-based Journal", (!r.journal_addresses.is_empty()).to_string());
    if !r.journal_addresses.is_empty() {
        line(
            "Raft Journal Addresses",
            format!("[{}]", r.journal_addresses.join(", ")),
        );
    }
    line("Raft Term", r.term.to_string());
    line("Mount Points", r.mounts.to_string());
    let workers = crate::fsdata::workers(client).await?;
    let (capacity, used) = crate::fsdata::totals(workers.iter().flat_map(|w| &w.tiers));
    line("Live Workers", workers.len().to_string());
    // The leader forgets lost workers (goosefs.master.worker.timeout) rather than listing them.
    line("Lost Workers", "0".to_owned());
    line("Total Capacity", crate::fsdata::size(capacity));
    line("Used Capacity", crate::fsdata::size(used));
    line("Free Capacity", crate::fsdata::size(capacity.saturating_sub(used)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mount_table_puts_the_path_third() {
        let mounts = vec![
            MountEntry {
                path: "/".into(),
                ufs: "/underFSStorage".into(),
                read_only: false,
                shared: false,
                options: BTreeMap::new(),
            },
            MountEntry {
                path: "/hbase".into(),
                ufs: "https://mirrors.example.org/hbase/stable/".into(),
                read_only: true,
                shared: false,
                options: BTreeMap::from([("k".to_owned(), "v".to_owned())]),
            },
        ];
        let text = format_mounts(&mounts);
        let third: Vec<&str> = text.lines().filter_map(|l| l.split_whitespace().nth(2)).collect();
        assert_eq!(third, ["/", "/hbase"]);
        assert!(
            text.contains("(local, capacity=-1B, used=-1B, not read-only, not shared, properties={})"),
            "{text}"
        );
        assert!(
            text.contains("(web, capacity=-1B, used=-1B, read-only, not shared, properties={k=v})"),
            "{text}"
        );
    }

    #[test]
    fn times_print_as_goosefs_does() {
        assert_eq!(format_time(0), "01-01-1970 00:00:00:000");
        assert_eq!(format_time(1_796_157_296_789), "12-01-2026 20:34:56:789");
    }
}
