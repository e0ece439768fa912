//! Maintenance and packaging verbs: `sejf reindex` (rebuild the name index), `sejf completions`
//! and `sejf man` (generated from the clap definitions in `cli.rs`).

use sejf_install::{self as install, Location};

use crate::error::CliError;

/// Writes `out` to standard output; a closed pipe (`| head`) ends the output quietly.
fn print(out: &[u8]) {
    let _ = std::io::Write::write_all(&mut std::io::stdout(), out);
}

/// `sejf reindex`: the name index rebuilt from the decrypted names, with a progress bar.
pub async fn reindex(loc: &Location) -> Result<(), CliError> {
    let opened = install::open(loc).await?;
    let total = opened.app.people_count().await.unwrap_or(0).max(0) as u64;
    let bar = sejf_transfer::csvio::progress_bar(true, total);
    let r = opened.app.reindex_names(&sejf_core::Actor::operator(), |n| bar.set_position(n)).await;
    bar.finish_and_clear();
    opened.store.close().await;
    let (examined, rewritten) = r?;
    println!("name index rebuilt: {examined} people examined, {rewritten} rewritten");
    Ok(())
}

/// `sejf completions SHELL`, for the command line `cli` describes.
pub fn completions(mut cli: clap::Command, shell: clap_complete::Shell) -> Result<(), CliError> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cli, "sejf", &mut out);
    print(&out);
    Ok(())
}

/// `sejf man`: the main page, then one per subcommand, so `man sejf` documents them all.
pub fn man(cli: clap::Command) -> Result<(), CliError> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cli.clone()).render(&mut out).map_err(|e| CliError::Failed(e.to_string()))?;
    for sub in cli.get_subcommands() {
        let name = format!("sejf-{}", sub.get_name());
        clap_mangen::Man::new(sub.clone()).title(name).render(&mut out).map_err(|e| CliError::Failed(e.to_string()))?;
    }
    print(&out);
    Ok(())
}
