//! `kubectl goosefs render`.

use std::io::Write;
use std::ops::RangeInclusive;
use std::path::PathBuf;

use clap::Args;

use super::{CliError, EXIT_FAILURE, EXIT_FINDINGS, EXIT_OK};
use crate::compile::{self, Catalog, CompileOptions, CsiMode, Templates};
use crate::output::manifests::{self, ManifestFormat};
use crate::output::{self, Format, Style};
use crate::validate::{self, ValidateOptions};

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
    /// Image catalog replacing the embedded one (format of templates/images.yaml).
    #[arg(long, value_name = "FILE")]
    pub images: Option<PathBuf>,
    /// Host port range to allocate GooseFS ports from (host networking).
    #[arg(long, default_value = "26000-32000", value_parser = parse_range)]
    pub port_range: RangeInclusive<u16>,
    /// PersistentVolume form: standalone (hostPath of the FUSE mount) or fluid (Fluid's CSI driver).
    #[arg(long, value_enum, default_value_t = CsiMode::Standalone)]
    pub csi: CsiMode,
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

/// Validates the inputs (printing findings on standard error) and compiles them. `Ok(Err(code))`
/// is an early exit with that code: unreadable input, findings with errors, or a compile error.
///
/// # Errors
/// Usage errors and unreadable templates or catalogs.
pub(super) fn validate_and_compile(
    input: &super::InputArgs,
    compile_args: &CompileArgs,
    namespace: &str,
    verb: &str,
    color: bool,
) -> Result<Result<(validate::Outcome, compile::Compiled), u8>, CliError> {
    let paths = input.paths(verb)?;
    let templates = match &compile_args.templates {
        Some(dir) => Templates::from_dir(dir).map_err(|e| CliError::Usage(e.to_string()))?,
        None => Templates::embedded(),
    };
    let catalog = match &compile_args.images {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", file.display())))?;
            Catalog::parse(&text, &file.display().to_string())
        }
        None => Catalog::embedded(),
    }
    .map_err(|e| CliError::Usage(e.to_string()))?;
    let options = ValidateOptions {
        paths,
        namespace: namespace.to_owned(),
        keep_objects: true,
        ..ValidateOptions::default()
    };
    // Compile the templates on a second thread while validation compiles the schemas.
    let outcome = std::thread::scope(|scope| {
        scope.spawn(|| templates.environment().is_ok());
        validate::validate(&options)
    })?;
    for e in &outcome.unreadable {
        eprintln!("error: {e}");
    }
    if !outcome.unreadable.is_empty() {
        return Ok(Err(EXIT_FAILURE));
    }
    let report = &outcome.report;
    if !report.diagnostics.is_empty() {
        let style = if color { Style::Color } else { Style::Plain };
        let _ = output::write_report(report, Format::Human, style, &mut std::io::stderr().lock());
    }
    if report.has_errors() {
        let done = match verb {
            "plan" => "planned",
            "apply" => "applied",
            _ => "rendered",
        };
        eprintln!("error: the input has errors; nothing was {done}");
        return Ok(Err(EXIT_FINDINGS));
    }
    let compile_options = CompileOptions {
        namespace: namespace.to_owned(),
        port_range: compile_args.port_range.clone(),
        csi: compile_args.csi,
        catalog,
        templates,
    };
    match compile::compile(&outcome.runtimes, &outcome.datasets, &compile_options) {
        Ok(compiled) => {
            if compiled.manifests.is_empty() {
                eprintln!("warning: no GooseFSRuntime in the input; nothing to {verb}");
            }
            Ok(Ok((outcome, compiled)))
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(Err(EXIT_FINDINGS))
        }
    }
}

/// Validates, compiles and writes the manifests.
///
/// # Errors
/// Usage errors, unreadable templates/catalogs, failures writing output.
pub fn run(args: RenderArgs, color: bool) -> Result<u8, CliError> {
    let namespace = args.input.namespace.clone().unwrap_or_else(|| "default".to_owned());
    let (outcome, compiled) = match validate_and_compile(&args.input, &args.compile, &namespace, "render", color)? {
        Ok(done) => done,
        Err(code) => return Ok(code),
    };
    if args.explain_images {
        explain_images(&compiled);
    }
    let result = match &args.output_dir {
        Some(dir) => {
            let written =
                manifests::write_dir(dir, &compiled.manifests, args.output, args.kustomization).map_err(|source| {
                    CliError::Write {
                        what: dir.display().to_string(),
                        source,
                    }
                })?;
            eprintln!("wrote {} object(s) to {}", written.len(), dir.display());
            Ok(EXIT_OK)
        }
        None => {
            let stdout = std::io::stdout().lock();
            let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout);
            manifests::write(&compiled.manifests, args.output, &mut out)
                .and_then(|()| out.flush())
                .map_err(|source| CliError::Write {
                    what: "the manifests".into(),
                    source,
                })
                .map(|()| EXIT_OK)
        }
    };
    // The process ends right after: let the OS reclaim the objects instead of freeing each one
    // (about a tenth of a large render's time).
    std::mem::forget(compiled);
    std::mem::forget(outcome);
    result
}

/// `--explain-images`: which image each runtime's components get and why, then each container.
fn explain_images(compiled: &compile::Compiled) {
    let mut err = std::io::stderr().lock();
    for values in &compiled.values {
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
    }
    for m in compiled.manifests.iter().filter(|m| m.text.contains("image:")) {
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
