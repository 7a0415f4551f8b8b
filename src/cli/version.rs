//! `version`, `completion` and `man`: what the binary is and how shells and man find it.

use clap::{Args, CommandFactory, ValueEnum};

use crate::compile::Catalog;
use crate::exit::ExitStatus;
use crate::ops::OpsError;

/// Output of `version`.
#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum VersionFormat {
    /// Version, commit and the embedded image catalog, for people.
    #[default]
    Text,
    /// The same as JSON.
    Json,
}

/// Arguments of `version`.
#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t)]
    pub output: VersionFormat,
}

/// Arguments of `completion`.
#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell to complete for, or `kubectl`: the `kubectl_complete-goosefs` executable that
    /// lets kubectl (1.26+) complete `kubectl goosefs ...` in any shell kubectl completes.
    #[arg(value_enum)]
    pub shell: Target,
}

/// What `completion` writes a script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// bash.
    Bash,
    /// zsh.
    Zsh,
    /// fish.
    Fish,
    /// PowerShell.
    Powershell,
    /// elvish.
    Elvish,
    /// kubectl's plugin completion.
    Kubectl,
}

/// Arguments of `man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write kubectl-goosefs.1 and a page per command (kubectl-goosefs-apply.1, ...) into this
    /// directory instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<std::path::PathBuf>,
}

/// The binary's version line, commit and bundled images.
///
/// # Errors
/// Writing output.
pub fn version(args: &VersionArgs) -> Result<ExitStatus, OpsError> {
    let catalogs = Catalog::all().map_err(|e| OpsError::Usage(e.to_string()))?;
    let roles = |c: &Catalog| {
        [
            ("goosefs", c.goosefs.clone()),
            ("fuse", c.fuse.clone()),
            ("initUsers", c.init_users.clone()),
        ]
    };
    let reference = |i: &crate::compile::images::CatalogImage| match &i.digest {
        Some(digest) => format!("{}:{}@{digest}", i.image, i.tag),
        None => format!("{}:{}", i.image, i.tag),
    };
    let (commit, date) = (env!("KGFS_GIT_COMMIT"), env!("KGFS_GIT_DATE"));
    let text = match args.output {
        VersionFormat::Text => {
            let mut text = format!(
                "kubectl-goosefs {}\ncommit: {commit}{}\n",
                env!("CARGO_PKG_VERSION"),
                if date.is_empty() {
                    String::new()
                } else {
                    format!(" ({date})")
                }
            );
            for (i, (name, catalog)) in catalogs.iter().enumerate() {
                let how = if i == 0 {
                    "the default".to_owned()
                } else {
                    format!("--images {name}")
                };
                text.push_str(&format!("images (catalog {name}, {how}):\n"));
                for (role, image) in roles(catalog) {
                    text.push_str(&format!("  {role:<10} {}\n", reference(&image)));
                }
            }
            text
        }
        VersionFormat::Json => {
            let listed = |c: &Catalog| -> serde_json::Map<String, serde_json::Value> {
                roles(c)
                    .iter()
                    .map(|(role, image)| ((*role).to_owned(), reference(image).into()))
                    .collect()
            };
            let all: serde_json::Map<String, serde_json::Value> = catalogs
                .iter()
                .map(|(name, c)| ((*name).to_owned(), listed(c).into()))
                .collect();
            let json = serde_json::json!({"version": env!("CARGO_PKG_VERSION"), "commit": commit,
                                          "commitDate": date, "images": listed(&catalogs[0].1),
                                          "defaultCatalog": catalogs[0].0, "catalogs": all});
            serde_json::to_string_pretty(&json).unwrap_or_default() + "\n"
        }
    };
    super::print(&text)?;
    Ok(ExitStatus::Success)
}

/// Prints a completion script.
///
/// # Errors
/// Writing output.
pub fn completion(args: &CompletionArgs) -> Result<ExitStatus, OpsError> {
    use clap_complete::Shell;
    let shell = match args.shell {
        Target::Bash => Shell::Bash,
        Target::Zsh => Shell::Zsh,
        Target::Fish => Shell::Fish,
        Target::Powershell => Shell::PowerShell,
        Target::Elvish => Shell::Elvish,
        Target::Kubectl => {
            super::print(super::complete::KUBECTL_SCRIPT)?;
            return Ok(ExitStatus::Success);
        }
    };
    let mut command = super::Cli::command();
    if shell == Shell::Bash {
        // clap_complete 4.6's bash script walks the words from the binary name with `-` turned
        // into `__` (`kubectl__goosefs`) but names each subcommand's state from its bin name with
        // spaces turned into `__subcmd__`; ours come out as `kubectl goosefs plan`, so no
        // subcommand would complete. Naming them as the walk expects makes the two agree.
        command = command.disable_help_subcommand(true).mut_subcommands(|s| {
            let bin = format!("kubectl__goosefs {}", s.get_name());
            s.bin_name(bin)
        });
    }
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "kubectl-goosefs", &mut script);
    super::print(&String::from_utf8_lossy(&script))?;
    Ok(ExitStatus::Success)
}

/// Prints the man page, or writes every page into a directory.
///
/// # Errors
/// Writing output.
pub fn man(args: &ManArgs) -> Result<ExitStatus, OpsError> {
    let mut command = super::Cli::command().disable_help_subcommand(true);
    // Built, every subcommand knows its display name (`kubectl-goosefs-apply`).
    command.build();
    let Some(dir) = &args.out_dir else {
        super::print(&String::from_utf8_lossy(&page(&command)?))?;
        return Ok(ExitStatus::Success);
    };
    let failed = |source| OpsError::Write {
        what: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    let mut commands = vec![&command];
    commands.extend(command.get_subcommands().filter(|s| !s.is_hide_set()));
    for command in commands {
        let path = dir.join(clap_mangen::Man::new(command.clone()).get_filename());
        crate::output::write_atomic(&path, &page(command)?).map_err(|source| OpsError::Write {
            what: path.display().to_string(),
            source,
        })?;
    }
    Ok(ExitStatus::Success)
}

/// One command's page, in roff.
fn page(command: &clap::Command) -> Result<Vec<u8>, OpsError> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut page)
        .map_err(|source| OpsError::Write {
            what: "the man page".to_owned(),
            source,
        })?;
    Ok(page)
}
