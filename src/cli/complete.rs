//! Completion of `kubectl goosefs ...` by kubectl itself (kubectl 1.26+): kubectl runs an
//! executable `kubectl_complete-goosefs` from PATH with the words typed after `goosefs` and
//! prints what it answers in cobra's format (one candidate per line, `name<TAB>description`,
//! then `:<directive>`). `completion kubectl` prints that executable, a two-line script calling
//! the hidden `__complete` command here, which reads the clap definition (and, for runtime
//! names, the cluster).

use clap::{Arg, ArgAction, Command, CommandFactory};

use crate::cluster::client::{Cluster, ConnectOptions};
use crate::exit::ExitStatus;
use crate::ops::OpsError;

/// cobra's directive: complete with these candidates only.
const NO_FILES: u8 = 4;
/// cobra's directive: the shell's default (file names).
const FILES: u8 = 0;

/// The hidden command kubectl's helper calls: `kubectl-goosefs __complete WORDS...`.
pub const COMMAND: &str = "__complete";

/// The `kubectl_complete-goosefs` script.
pub const KUBECTL_SCRIPT: &str = "#!/bin/sh\n\
# kubectl_complete-goosefs: lets kubectl (1.26+) complete `kubectl goosefs ...`. Put it on PATH.\n\
exec kubectl-goosefs __complete \"$@\"\n";

/// Prints the candidates for `words` (those after `kubectl goosefs`; the last is the one being
/// completed, maybe empty) and the directive.
///
/// # Errors
/// Writing output.
pub fn run(words: &[String]) -> Result<ExitStatus, OpsError> {
    let (candidates, directive) = candidates(words, runtime_names);
    let mut text = String::new();
    for candidate in candidates {
        text.push_str(&candidate);
        text.push('\n');
    }
    text.push_str(&format!(":{directive}\n"));
    super::print(&text)?;
    Ok(ExitStatus::Success)
}

/// Whether `arg` takes its value as the next word (`--name VALUE` / `-n VALUE`): not a switch,
/// nor `--wait[=BOOL]`, whose value is attached.
fn takes_value(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Set | ArgAction::Append) && !arg.is_require_equals_set()
}

/// The option of `command` (or a global one of `root`) that `word` names.
fn option<'a>(command: &'a Command, root: &'a Command, word: &str) -> Option<&'a Arg> {
    let matches = |a: &&Arg| {
        word.strip_prefix("--").is_some_and(|long| a.get_long() == Some(long))
            || (word.len() == 2 && word.starts_with('-') && a.get_short().is_some_and(|s| word.ends_with(s)))
    };
    command
        .get_arguments()
        .find(matches)
        .or_else(|| root.get_arguments().find(|a| a.is_global_set() && matches(a)))
}

/// The value of option `long`/`short` among `words` (`--long V`, `--long=V`, `-s V`).
fn value_of(words: &[String], long: &str, short: Option<&str>) -> Option<String> {
    words.iter().enumerate().find_map(|(i, w)| {
        if let Some(v) = w.strip_prefix(&format!("--{long}=")) {
            return Some(v.to_owned());
        }
        (w == &format!("--{long}") || short.is_some_and(|s| w == s))
            .then(|| words.get(i + 1).cloned())
            .flatten()
    })
}

/// The candidates for the last of `words` and cobra's directive. `runtimes` lists the runtime
/// names of the cluster the words point at (for `status` and `delete`).
pub fn candidates(words: &[String], runtimes: impl Fn(&[String]) -> Vec<String>) -> (Vec<String>, u8) {
    let mut root = super::Cli::command();
    root.build();
    let (partial, typed) = words.split_last().map_or(("", &[][..]), |(p, t)| (p.as_str(), t));
    // The subcommand is the first word that is neither an option nor an option's value.
    let mut command = &root;
    let mut skip = false;
    for word in typed {
        if std::mem::take(&mut skip) {
            continue;
        }
        if word.starts_with('-') {
            skip = !word.contains('=') && option(command, &root, word).is_some_and(takes_value);
        } else if std::ptr::eq(command, &root)
            && let Some(sub) = root.find_subcommand(word)
        {
            command = sub;
        }
    }
    let keep = |name: &str| name.starts_with(partial);
    // The value of an option.
    if let Some(arg) = typed
        .last()
        .and_then(|w| option(command, &root, w))
        .filter(|a| takes_value(a))
        && !typed.last().is_some_and(|w| w.contains('='))
    {
        let values: Vec<String> = arg
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set() && keep(v.get_name()))
            .map(|v| describe(v.get_name(), v.get_help().map(ToString::to_string)))
            .collect();
        return if !arg.get_possible_values().is_empty() {
            (values, NO_FILES)
        } else if is_path(arg) {
            (Vec::new(), FILES)
        } else {
            (Vec::new(), NO_FILES)
        };
    }
    if partial.starts_with('-') {
        let flags = command
            .get_arguments()
            .chain(root.get_arguments().filter(|a| a.is_global_set()))
            .filter(|a| !a.is_hide_set())
            .filter_map(|a| {
                a.get_long()
                    .map(|l| (format!("--{l}"), a.get_help().map(ToString::to_string)))
            })
            .filter(|(flag, _)| keep(flag))
            .map(|(flag, help)| describe(&flag, help))
            .collect();
        return (flags, NO_FILES);
    }
    if std::ptr::eq(command, &root) {
        let subcommands = root
            .get_subcommands()
            .filter(|s| !s.is_hide_set() && keep(s.get_name()))
            .map(|s| describe(s.get_name(), s.get_about().map(ToString::to_string)))
            .collect();
        return (subcommands, NO_FILES);
    }
    match command.get_name() {
        "status" | "delete" => (runtimes(words).into_iter().filter(|n| keep(n)).collect(), NO_FILES),
        "explain" => (
            crate::validate::codes::ALL
                .iter()
                .map(|c| c.as_str())
                .filter(|c| keep(c))
                .map(str::to_owned)
                .collect(),
            NO_FILES,
        ),
        "completion" => {
            let positional = command.get_arguments().find(|a| a.is_positional());
            let shells = positional.map_or_else(Vec::new, |a| {
                a.get_possible_values()
                    .iter()
                    .map(|v| v.get_name().to_owned())
                    .filter(|n| keep(n))
                    .collect()
            });
            (shells, NO_FILES)
        }
        // Inputs are files and directories: the shell completes them.
        _ if command.get_arguments().any(|a| a.is_positional() && is_path(a)) => (Vec::new(), FILES),
        _ => (Vec::new(), NO_FILES),
    }
}

/// Whether the values of `arg` are paths (clap infers it for `PathBuf` arguments).
fn is_path(arg: &Arg) -> bool {
    use clap::ValueHint::{AnyPath, DirPath, FilePath};
    matches!(arg.get_value_hint(), AnyPath | DirPath | FilePath)
}

/// `name<TAB>first line of help`, as cobra shows descriptions.
fn describe(name: &str, help: Option<String>) -> String {
    match help.as_deref().and_then(|h| h.lines().next()).filter(|h| !h.is_empty()) {
        Some(help) => format!("{name}\t{help}"),
        None => name.to_owned(),
    }
}

/// The runtimes of the namespace the words point at (`-n`, `--context`, `--kubeconfig`), or none
/// when the cluster cannot be asked within 3 s: completion must never hang or print errors.
fn runtime_names(words: &[String]) -> Vec<String> {
    let options = ConnectOptions {
        kubeconfig: value_of(words, "kubeconfig", None).map(Into::into),
        context: value_of(words, "context", None),
        request_timeout: Some(std::time::Duration::from_secs(3)),
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        return Vec::new();
    };
    runtime.block_on(async {
        let ask = async {
            let cluster = Cluster::connect(&options).await.ok()?;
            let namespace =
                value_of(words, "namespace", Some("-n")).unwrap_or_else(|| cluster.default_namespace().to_owned());
            cluster.runtimes(&namespace).await.ok()
        };
        tokio::time::timeout(std::time::Duration::from_secs(3), ask)
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(line: &str) -> (Vec<String>, u8) {
        let mut words: Vec<String> = line.split(' ').map(str::to_owned).collect();
        if line.is_empty() {
            words = vec![String::new()];
        }
        candidates(&words, |_| vec!["hbase".to_owned(), "spark".to_owned()])
    }

    fn names(line: &str) -> Vec<String> {
        complete(line)
            .0
            .into_iter()
            .map(|c| c.split('\t').next().unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn subcommands_flags_values_and_names() {
        assert_eq!(names("ap"), ["apply"]);
        assert!(names("").contains(&"validate".to_owned()));
        assert!(
            !names("").iter().any(|n| n.starts_with("__")),
            "hidden commands stay hidden"
        );
        assert!(complete("ap").0[0].starts_with("apply\tApply the plan"));
        assert_eq!(names("plan --detailed"), ["--detailed-exitcode"]);
        assert!(names("plan --").contains(&"--color".to_owned()), "global flags too");
        assert_eq!(names("validate --format s"), ["sarif"]);
        assert_eq!(complete("validate --format s").1, NO_FILES);
        assert_eq!(names("status -o w"), ["wide"]);
        assert_eq!(names("status -n cache h"), ["hbase"]);
        assert_eq!(names("delete --context prod "), ["hbase", "spark"]);
        assert_eq!(names("completion z"), ["zsh"]);
        // `--wait` takes its value attached: the next word is an input again.
        assert_eq!(complete("apply --wait "), (Vec::new(), FILES));
        assert_eq!(names("apply --wait --ti"), ["--timeout"]);
        assert_eq!(names("explain GFS10").len(), 8);
        // Inputs and file-valued options are left to the shell.
        assert_eq!(complete("validate "), (Vec::new(), FILES));
        assert_eq!(complete("render --templates "), (Vec::new(), FILES));
        assert_eq!(
            complete("plan -n "),
            (Vec::new(), NO_FILES),
            "a namespace is not a file"
        );
        assert_eq!(complete("plan --kubeconfig "), (Vec::new(), FILES));
    }

    #[test]
    fn connection_flags_are_read_from_the_words() {
        let words: Vec<String> = ["status", "--kubeconfig=/k", "--context", "c", "-n", "ns", ""]
            .iter()
            .map(|w| (*w).to_owned())
            .collect();
        assert_eq!(value_of(&words, "kubeconfig", None).as_deref(), Some("/k"));
        assert_eq!(value_of(&words, "context", None).as_deref(), Some("c"));
        assert_eq!(value_of(&words, "namespace", Some("-n")).as_deref(), Some("ns"));
    }
}
