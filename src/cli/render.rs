//! `kubectl goosefs render`.

use std::io::Write;
use std::ops::RangeInclusive;
use std::path::PathBuf;

use clap::Args;

use crate::compile::{self, CsiMode};
use crate::exit::ExitStatus;
use crate::ops::{self, OpsError, render::RenderOptions};
use crate::output::manifests::{self, ManifestFormat};

/// Arguments of `render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Inputs.
    #[command(flatten)]
    pub input: super::InputArgs,
    /// How to compile.
    #[command(flatten)]
    pub compile: CompileArgs,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = ManifestFormat::Yaml)]
    pub output: ManifestFormat,
    /// Write one file per object into DIR (replaced as a whole) instead of standard output.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// With --output-dir, also write a kustomization.yaml listing the files in apply order (for
    /// Argo CD, Flux or `kubectl apply -k`).
    #[arg(long, requires = "output_dir")]
    pub kustomization: bool,
    /// Print which image each container uses and why, on standard error.
    #[arg(long)]
    pub explain_images: bool,
}

/// The compile settings `render` and `plan` share.
#[derive(Debug, Args)]
pub struct CompileArgs {
    /// Directory of *.j2 templates replacing the embedded ones of the same name.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Image catalog: `kubectl-goosefs` (the default: our runtime image), `fluid` (Fluid's
    /// GooseFS images) or a file in the format of templates/images.yaml.
    #[arg(long, value_name = "NAME|FILE")]
    pub images: Option<PathBuf>,
    /// Host port range to allocate GooseFS ports from (host networking).
    #[arg(long, default_value = "26000-32000", value_parser = parse_range)]
    pub port_range: RangeInclusive<u16>,
    /// PersistentVolume form: standalone (hostPath of the FUSE mount) or fluid (Fluid's CSI driver).
    #[arg(long, value_enum, default_value_t = CsiMode::Standalone)]
    pub csi: CsiMode,
    /// Add a PodMonitor per runtime (the Prometheus Operator's) scraping the masters', workers'
    /// and FUSE pods' /metrics. Give it to render, plan and apply alike.
    #[arg(long)]
    pub monitoring: bool,
}

fn parse_range(text: &str) -> Result<RangeInclusive<u16>, String> {
    let (a, b) = text
        .split_once('-')
        .ok_or_else(|| format!("{text:?} is not a range like 26000-32000"))?;
    let parse = |s: &str| {
        s.trim()
            .parse::<u16>()
            .map_err(|_| format!("{s:?} is not a port number"))
    };
    let (start, end) = (parse(a)?, parse(b)?);
    if start == 0 || start > end {
        return Err(format!("{text:?}: the range must be non-empty and start above 0"));
    }
    Ok(start..=end)
}

impl CompileArgs {
    /// The render options of `input` with these settings (`namespace` empty: the cluster
    /// commands' kubeconfig context decides).
    pub fn options(&self, input: &super::InputArgs, namespace: String) -> RenderOptions {
        RenderOptions {
            paths: input.all(),
            namespace,
            templates: self.templates.clone(),
            images: self.images.clone(),
            port_range: self.port_range.clone(),
            csi: self.csi,
            monitoring: self.monitoring,
        }
    }
}

/// Validates, compiles and writes the manifests, runtime by runtime.
///
/// # Errors
/// [`OpsError`]: no or unreadable input, findings, unreadable templates/catalogs, a compile
/// error, failures writing output.
pub fn run(args: RenderArgs, color: bool) -> Result<ExitStatus, OpsError> {
    let namespace = args.input.namespace.clone().unwrap_or_else(|| "default".to_owned());
    let options = args.compile.options(&args.input, namespace);
    let prepared = ops::render::prepare(&options, "rendered", &mut |report| super::print_findings(report, color))?;
    if prepared.outcome.runtimes.is_empty() {
        eprintln!("warning: no GooseFSRuntime in the input; nothing to render");
    }
    let explain = args.explain_images;
    match &args.output_dir {
        Some(dir) => {
            let mut writer = manifests::DirWriter::create(dir, args.output).map_err(|source| OpsError::Write {
                what: dir.display().to_string(),
                source,
            })?;
            prepared.compile_each(&mut |(values, objects)| {
                if explain {
                    explain_images(&values, &objects);
                }
                objects.iter().try_for_each(|m| writer.add(m))
            })?;
            let written = writer.finish(args.kustomization).map_err(|source| OpsError::Write {
                what: dir.display().to_string(),
                source,
            })?;
            eprintln!("wrote {written} object(s) to {}", dir.display());
        }
        None => {
            let stdout = std::io::stdout().lock();
            let mut out = manifests::StreamWriter::new(std::io::BufWriter::with_capacity(1 << 16, stdout), args.output);
            prepared.compile_each(&mut |(values, objects)| {
                if explain {
                    explain_images(&values, &objects);
                }
                out.add(&objects)
            })?;
            out.finish().map_err(|source| OpsError::Write {
                what: "the manifests".into(),
                source,
            })?;
        }
    }
    // The process ends right after: let the OS reclaim the objects instead of freeing each one.
    std::mem::forget(prepared);
    Ok(ExitStatus::Success)
}

/// `--explain-images`: which image a runtime's components get and why, then each container.
fn explain_images(values: &compile::Values, objects: &[compile::Manifest]) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "images for {}/{}:", values.namespace, values.name);
    for (role, image) in [
        (
            "master, worker, job master/worker, API gateway, mount Job",
            &values.images.goosefs,
        ),
        ("fuse", &values.images.fuse),
        ("init-users", &values.images.init_users),
    ] {
        let _ = writeln!(
            err,
            "  {role}: {} (pull {}; from {})",
            image.reference, image.pull_policy, image.source
        );
    }
    for m in objects.iter().filter(|m| m.text.contains("image:")) {
        let Ok(object) = m.object() else { continue };
        for key in ["initContainers", "containers"] {
            for c in object["spec"]["template"]["spec"][key].as_array().into_iter().flatten() {
                let (container, image) = (
                    c["name"].as_str().unwrap_or_default(),
                    c["image"].as_str().unwrap_or_default(),
                );
                let _ = writeln!(
                    err,
                    "  {}/{}/{} container {container}: {image}",
                    m.kind, m.namespace, m.name
                );
            }
        }
    }
}
