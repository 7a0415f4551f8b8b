//! Writes a new runtime credential into a folder (not shipped): the Secret's items as the pods
//! see them, for the benchmarks and for running the runtime outside Kubernetes
//! (`GOOSEFS_CREDENTIAL_DIR`). Usage: `credential <dir>`.

fn main() -> std::process::ExitCode {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: credential <dir>");
        return std::process::ExitCode::from(2);
    };
    let written = goosefs_conf::credential::generate()
        .map_err(|e| e.to_string())
        .and_then(|items| {
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            for (item, text) in items {
                std::fs::write(std::path::Path::new(&dir).join(&item), text).map_err(|e| format!("{item}: {e}"))?;
            }
            Ok(())
        });
    match written {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("credential: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
