//! The command line: clap definitions, and one file per command that turns parsed arguments
//! into options and calls one library function. No validation or Kubernetes logic lives here.

mod apply;
mod backup;
mod complete;
mod delete;
mod explain;
mod inject;
mod load;
mod plan;
mod render;
mod schema;
mod status;
mod validate;
mod version;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::exit::ExitStatus;
use crate::ops::OpsError;

/// kubectl-goosefs: validate, render and deploy GooseFS caches described by Fluid's Dataset and
/// GooseFSRuntime, with no Fluid operator in the cluster.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl-goosefs",
    bin_name = "kubectl goosefs",
    version,
    about,
    after_help = "Exit codes: 0 success, 1 findings (errors, or warnings with --strict), 2 usage error or unreadable input.\n\
                  Run as `kubectl goosefs ...` once kubectl-goosefs is on PATH."
)]
pub struct Cli {
    /// When to colour human output: auto (a terminal, and NO_COLOR unset), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Colour choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour on a terminal unless NO_COLOR is set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check Dataset and GooseFSRuntime files against Fluid's schema and GooseFS rules.
    #[command(after_help = "Examples:\n  \
        kubectl goosefs validate runtime.yaml\n  \
        kubectl goosefs validate deploy/ --format github\n  \
        kubectl goosefs validate -f a.yaml -f b.yaml --strict\n  \
        cat runtime.yaml | kubectl goosefs validate -\n  \
        kubectl goosefs validate . --format sarif > goosefs.sarif")]
    Validate(validate::ValidateArgs),
    /// Compile Dataset + GooseFSRuntime into the Kubernetes objects that run the cache, with no operator.
    #[command(after_help = "Examples:\n  \
        kubectl goosefs render hbase.yaml\n  \
        kubectl goosefs render deploy/ -n cache --output-dir rendered/\n  \
        kubectl goosefs render hbase.yaml -o json --explain-images\n  \
        kubectl goosefs render hbase.yaml --csi fluid --port-range 30000-31000")]
    Render(render::RenderArgs),
    /// Show what applying would change in the cluster: server-side dry runs diffed against the live objects.
    #[command(
        after_help = "Sends only dry-run writes (dryRun=All); the cluster is never changed. --create-namespace,\n\
        --install-crds, --force-conflicts and --allow-quorum-loss plan what apply with them does.\n\n\
        Examples:\n  \
        kubectl goosefs plan -f hbase.yaml\n  \
        kubectl goosefs plan deploy/ --context prod -n cache --detailed-exitcode\n  \
        kubectl goosefs plan hbase.yaml -o json --out plan.json"
    )]
    Plan(plan::PlanArgs),
    /// Apply the plan: server-side apply in dependency order, optional prune, wait for Ready phases.
    #[command(
        after_help = "Shows the plan first and asks Apply? [y/N] (or pass --yes; required without a terminal).\n\
        Exit codes: 0 applied (or nothing to apply), 1 cluster error or timeout, 2 usage error or cancelled.\n\n\
        Examples:\n  \
        kubectl goosefs apply -f hbase.yaml\n  \
        kubectl goosefs apply deploy/ -n cache --yes --prune --timeout 10m\n  \
        kubectl goosefs apply hbase.yaml --yes --wait=false"
    )]
    Apply(apply::ApplyArgs),
    /// Show each runtime's master, worker and FUSE phases, computed from the live workloads as Fluid does.
    #[command(
        after_help = "Exit codes: 0 all ready, 3 a runtime not ready (or none found), 1 cluster error.\n\n\
        Examples:\n  \
        kubectl goosefs status\n  \
        kubectl goosefs status hbase -n cache -o wide\n  \
        kubectl goosefs status hbase --explain\n  \
        kubectl goosefs status hbase -o yaml"
    )]
    Status(status::StatusArgs),
    /// Delete every object kubectl-goosefs made for the named runtimes (FUSE first, config last).
    #[command(after_help = "Asks unless --yes (required without a terminal).\n\n\
        Examples:\n  \
        kubectl goosefs delete hbase\n  \
        kubectl goosefs delete hbase -n cache --yes --ignore-not-found")]
    Delete(delete::DeleteArgs),
    /// Load paths of a runtime's Dataset into its cache now (Fluid's DataLoad, imperatively).
    #[command(
        after_help = "Runs a one-off Job with the runtime's loader and follows its log: each file, then per path\n\
        the files, bytes and rate. Exit codes: 0 loaded, 1 cluster error, failed load or timeout, 2 usage.\n\n\
        Examples:\n  \
        kubectl goosefs load hbase\n  \
        kubectl goosefs load hbase /hbase/stable --metadata -n cache\n  \
        kubectl goosefs load hbase /hbase --wait=false"
    )]
    Load(load::LoadArgs),
    /// Back up a runtime's metadata (mount table and namespace) now (Fluid's DataBackup, imperatively).
    #[command(
        after_help = "Runs a one-off Job with the runtime's admin key: `goosefs databackup` writes the leader's\n\
        backup as metadata-backup-<name>-<namespace>.gz in the --to directory, where a Dataset's\n\
        dataRestoreLocation with the same path makes new masters (empty journals) restore it. Exit codes:\n\
        0 backed up, 1 cluster error, failed backup or timeout, 2 usage.\n\n\
        Examples:\n  \
        kubectl goosefs backup hbase --to pvc://backups/hbase/\n  \
        kubectl goosefs backup hbase --to local:///var/backups/goosefs --node node-1 -n cache"
    )]
    Backup(backup::BackupArgs),
    /// Point application workloads at a Dataset, offline: what Fluid's webhook did at admission.
    #[command(
        after_help = "Adds the Dataset's volume (the FUSE host path with HostToContainer, or with --csi fluid its\n\
        PVC) and a mount of it to every container of every Pod, Deployment, StatefulSet, DaemonSet,\n\
        ReplicaSet, Job and CronJob, and an affinity to the nodes that run the runtime's workers (and,\n\
        when FUSE runs on selected nodes only, a requirement for those). Everything else is left byte\n\
        for byte, comments included; injecting twice changes nothing. Exit codes: 0 injected, 1 a\n\
        workload cannot take it or the runtime's definition has errors, 2 usage or unreadable input.\n\n\
        Examples:\n  \
        kubectl goosefs inject -f app.yaml --dataset hbase --runtime hbase.yaml\n  \
        kubectl goosefs inject deploy/ --dataset cache/hbase --in-place\n  \
        kubectl goosefs inject -f app.yaml --dataset hbase --csi fluid -o json | kubectl apply -f -"
    )]
    Inject(inject::InjectArgs),
    /// Print or write the JSON Schemas (or installable CRDs) generated from the model.
    #[command(after_help = "Examples:\n  \
        kubectl goosefs schema --out schemas/\n  \
        kubectl goosefs schema --kind dataset\n  \
        kubectl goosefs schema --crd | kubectl apply -f -")]
    Schema(schema::SchemaArgs),
    /// Explain a rule code: what it checks, why, and a wrong and a right example.
    #[command(
        after_help = "Examples:\n  kubectl goosefs explain GFS101\n  kubectl goosefs explain   # list every code"
    )]
    Explain(explain::ExplainArgs),
    /// Print the version, the git commit it was built from and the bundled image catalog.
    #[command(after_help = "Examples:\n  kubectl goosefs version\n  kubectl goosefs version -o json")]
    Version(version::VersionArgs),
    /// Print a shell completion script for kubectl-goosefs.
    #[command(after_help = "Examples:\n  \
        source <(kubectl-goosefs completion bash)\n  \
        kubectl-goosefs completion zsh > \"${fpath[1]}/_kubectl-goosefs\"\n  \
        kubectl-goosefs completion fish > ~/.config/fish/completions/kubectl-goosefs.fish")]
    Completion(version::CompletionArgs),
    /// Print the man page (roff), or write a page per command with --out-dir.
    #[command(after_help = "Examples:\n  \
        kubectl goosefs man | man -l -\n  \
        kubectl goosefs man --out-dir /usr/local/share/man/man1")]
    Man(version::ManArgs),
}

/// The inputs every command that reads Fluid objects takes.
#[derive(Debug, clap::Args)]
pub struct InputArgs {
    /// Files or directories (walked for *.yaml, *.yml, *.json); `-` reads standard input.
    #[arg(value_name = "PATH")]
    pub paths: Vec<std::path::PathBuf>,
    /// Same as a PATH argument (kubectl style); repeatable.
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    pub files: Vec<std::path::PathBuf>,
    /// Namespace of objects that do not set metadata.namespace (default: `default`; for cluster
    /// commands, the kubeconfig context's namespace).
    #[arg(short, long)]
    pub namespace: Option<String>,
}

impl InputArgs {
    /// All input paths (positional and `-f`), maybe none.
    pub fn all(&self) -> Vec<std::path::PathBuf> {
        self.paths.iter().chain(&self.files).cloned().collect()
    }
}

/// Parses the command line, runs the command and returns the process exit code.
pub fn main() -> ExitCode {
    // kubectl's plugin completion protocol, outside the clap tree so that no help text or shell
    // completion script shows it.
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some(complete::COMMAND) {
        return finish(complete::run(&args.collect::<Vec<_>>()));
    }
    let cli = Cli::parse();
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let result = match cli.command {
        Command::Validate(args) => validate::run(args, color),
        Command::Render(args) => render::run(args, color),
        Command::Plan(args) => plan::run(args, color),
        Command::Apply(args) => apply::run(args, color),
        Command::Status(args) => status::run(&args),
        Command::Delete(args) => delete::run(&args),
        Command::Load(args) => load::run(&args),
        Command::Inject(args) => inject::run(&args, color),
        Command::Backup(args) => backup::run(&args),
        Command::Schema(args) => schema::run(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Version(args) => version::version(&args),
        Command::Completion(args) => version::completion(&args),
        Command::Man(args) => version::man(&args),
    };
    finish(result)
}

/// Prints a failure with its chain of causes (each cause once: messages that already quote
/// their cause do not repeat it) and maps the outcome to the exit code.
fn finish(result: Result<ExitStatus, OpsError>) -> ExitCode {
    match result {
        Ok(status) => status.into(),
        // A closed standard output (`| head`) is how a reader says it has read enough.
        Err(e) if e.is_broken_pipe() => ExitStatus::Success.into(),
        Err(e) => {
            let mut shown = e.to_string();
            let mut text = format!("error: {shown}");
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                let line = c.to_string();
                if !shown.contains(&line) {
                    text.push_str(&format!("\n  caused by: {line}"));
                    shown = line;
                }
                cause = c.source();
            }
            eprintln!("{text}");
            e.exit_status().into()
        }
    }
}

/// Writes one progress line to stdout. A closed stdout (`| head`) must not stop, or panic, a
/// run that is changing the cluster half-way, so write errors are dropped here.
fn progress(line: String) {
    let _ = print(&(line + "\n"));
}

/// Writes `text` to stdout.
fn print(text: &str) -> Result<ExitStatus, OpsError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|source| OpsError::Write {
            what: "standard output".into(),
            source,
        })?;
    Ok(ExitStatus::Success)
}

/// Prints findings on standard error, as `render`, `plan` and `apply` show them.
fn print_findings(report: &crate::validate::Report, color: bool) {
    let style = if color {
        crate::output::Style::Color
    } else {
        crate::output::Style::Plain
    };
    let _ = crate::output::write_report(
        report,
        crate::output::Format::Human,
        style,
        &mut std::io::stderr().lock(),
    );
}
