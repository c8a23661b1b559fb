//! `tvix eval`: not built yet.

#[derive(clap::Args)]
pub struct Args {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    rest: Vec<String>,
}

pub fn run(_args: Args) -> anyhow::Result<i32> {
    anyhow::bail!("tvix eval is not built yet (issue 2)")
}
