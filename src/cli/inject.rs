//! `kubectl goosefs inject`.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::compile::CsiMode;
use crate::exit::ExitStatus;
use crate::load::Input;
use crate::ops::OpsError;
use crate::ops::inject::{InjectOptions, inject};
use crate::output::manifests::ManifestFormat;

/// Arguments of `inject`.
#[derive(Debug, Args)]
pub struct InjectArgs {
    /// The application's files or directories; `-` reads standard input.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Same as a PATH argument (kubectl style); repeatable.
    #[arg(short = 'f', long = "filename", value_name = "PATH")]
    pub files: Vec<PathBuf>,
    /// The Dataset to mount: NAME, or NAMESPACE/NAME.
    #[arg(long, value_name = "NAME")]
    pub dataset: String,
    /// Files defining the Dataset and GooseFSRuntime when the application's files do not; read,
    /// never written.
    #[arg(long = "runtime", value_name = "PATH")]
    pub runtime: Vec<PathBuf>,
    /// Namespace of Fluid objects that set none.
    #[arg(short, long, default_value = "default")]
    pub namespace: String,
    /// The volume: standalone mounts the FUSE host path (HostToContainer), fluid the Dataset's
    /// PVC (Fluid's CSI form). As given to render and apply.
    #[arg(long, value_enum, default_value_t = CsiMode::Standalone)]
    pub csi: CsiMode,
    /// Where the containers see the Dataset.
    #[arg(long, default_value = "/data", value_parser = absolute)]
    pub mount_path: String,
    /// Mount into this container only; repeatable (default: every container, not init containers).
    #[arg(long, value_name = "NAME")]
    pub container: Vec<String>,
    /// Output format (yaml keeps each file's text; json prints a v1 List).
    #[arg(short = 'o', long = "output", value_enum, default_value_t = ManifestFormat::Yaml)]
    pub output: ManifestFormat,
    /// Rewrite the files in place (atomically) instead of printing them.
    #[arg(long, conflicts_with = "output")]
    pub in_place: bool,
}

fn absolute(text: &str) -> Result<String, String> {
    if text.starts_with('/') && !text.split('/').any(|p| p == "..") {
        Ok(text.to_owned())
    } else {
        Err(format!("{text:?} is not an absolute path"))
    }
}

/// Injects and prints (or writes) the files; says on standard error what changed.
///
/// # Errors
/// [`OpsError`]: unreadable or invalid input, an unknown Dataset, a conflicting workload, output.
pub fn run(args: &InjectArgs, color: bool) -> Result<ExitStatus, OpsError> {
    let options = InjectOptions {
        paths: args.paths.iter().chain(&args.files).cloned().collect(),
        definitions: args.runtime.clone(),
        namespace: args.namespace.clone(),
        dataset: args.dataset.clone(),
        csi: args.csi,
        mount_path: args.mount_path.clone(),
        containers: args.container.clone(),
    };
    if args.in_place && options.paths.iter().any(|p| p.as_os_str() == "-") {
        return Err(OpsError::Usage(
            "--in-place cannot write standard input back".to_owned(),
        ));
    }
    let files = inject(&options, &mut |report| super::print_findings(report, color))?;
    let mut err = std::io::stderr().lock();
    let mut workloads = 0;
    for file in &files {
        let name = file.input.display_name();
        for object in &file.injected.changed {
            let _ = writeln!(err, "{name}: {object} injected");
        }
        for object in &file.injected.unchanged {
            let _ = writeln!(err, "{name}: {object} already injected");
        }
        if let Some(why) = &file.injected.rewritten {
            let _ = writeln!(
                err,
                "warning: {name} was written anew from its data ({why}): its comments and layout are gone"
            );
        }
        workloads += file.injected.changed.len() + file.injected.unchanged.len();
    }
    if workloads == 0 {
        let _ = writeln!(
            err,
            "warning: no Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob in the input"
        );
    }
    let write = |what: String| move |source| OpsError::Write { what, source };
    if args.in_place {
        for file in files.iter().filter(|f| !f.injected.changed.is_empty()) {
            if let Input::File(path) = &file.input {
                crate::output::write_atomic(path, file.injected.text.as_bytes())
                    .map_err(write(path.display().to_string()))?;
            }
        }
        return Ok(ExitStatus::Success);
    }
    let mut out = std::io::stdout().lock();
    match args.output {
        ManifestFormat::Json => {
            let items: Vec<&serde_json::Value> = files.iter().flat_map(|f| &f.injected.documents).collect();
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
            let text = serde_json::to_string_pretty(&list).unwrap_or_default();
            writeln!(out, "{text}").map_err(write("standard output".to_owned()))?;
        }
        ManifestFormat::Yaml => {
            for (i, file) in files.iter().enumerate() {
                let text = &file.injected.text;
                let mut chunk = String::new();
                if i > 0 && !text.trim_start().starts_with("---") {
                    chunk.push_str("---\n");
                }
                chunk.push_str(text);
                if !text.is_empty() && !text.ends_with('\n') {
                    chunk.push('\n');
                }
                out.write_all(chunk.as_bytes())
                    .map_err(write("standard output".to_owned()))?;
            }
        }
    }
    Ok(ExitStatus::Success)
}
