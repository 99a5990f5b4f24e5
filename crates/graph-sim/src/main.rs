//! `devlic-sim`: run the Graph simulator, or generate a synthetic tenant file.

// A developer's command-line tool: printing the URL, the token and errors is its interface
// (the simulator library itself prints nothing).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use devlic_graph_sim::{Budgets, Faults, Sim, SimConfig, Tenant, generate};

/// A Microsoft Graph simulator for devlic, on 127.0.0.1.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a tenant file until killed. Prints `listening on http://127.0.0.1:PORT` first.
    Serve {
        /// The tenant JSON file (see examples/tenants/).
        #[arg(long)]
        tenant: PathBuf,
        /// Loopback address to bind (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Seed of the fault RNG.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Added latency per Graph request, in milliseconds.
        #[arg(long)]
        latency_ms: Option<u64>,
        /// Share of requests answered 429.
        #[arg(long, default_value_t = 0.0)]
        throttle_rate: f64,
        /// Retry-After of 429/503 answers, in seconds.
        #[arg(long, default_value_t = 1.0)]
        retry_after_secs: f64,
        /// Share of requests answered 503/504.
        #[arg(long, default_value_t = 0.0)]
        unavailable_rate: f64,
        /// Share of connections dropped mid-response.
        #[arg(long, default_value_t = 0.0)]
        drop_rate: f64,
        /// Share of writes applied whose response is lost.
        #[arg(long, default_value_t = 0.0)]
        lost_write_rate: f64,
        /// Read-after-write lag, in milliseconds.
        #[arg(long)]
        lag_ms: Option<u64>,
        /// License processing delay, in milliseconds.
        #[arg(long, default_value_t = 0)]
        processing_delay_ms: u64,
        /// Lifetime of the access tokens it issues, in seconds (`expires_in`; Entra's are 60
        /// to 90 minutes). A few seconds make a run outlive its token, to try refreshing.
        #[arg(long, default_value_t = 3599, value_parser = clap::value_parser!(u64).range(1..))]
        token_lifetime_secs: u64,
        /// Enforce Graph's throttling budgets (3,000 writes per 150 s, 8,000 read resource units
        /// per 10 s, per app), every capacity and window multiplied by SCALE (1 is Graph's;
        /// 0.01 keeps the rate but throttles after 30 writes in a burst).
        #[arg(long, value_name = "SCALE")]
        budgets: Option<f64>,
        /// The app registration's client id.
        #[arg(long, default_value = "devlic-sim")]
        client_id: String,
        /// The app registration's client secret.
        #[arg(
            long,
            default_value = "devlic-sim-secret",
            env = "DEVLIC_SIM_CLIENT_SECRET",
            hide_env_values = true
        )]
        client_secret: String,
    },
    /// Write a synthetic tenant (for benchmarks) as JSON.
    Generate {
        /// Number of groups.
        #[arg(long)]
        groups: usize,
        /// Number of devices.
        #[arg(long)]
        devices: usize,
        /// Seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Output file (stdout when absent).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("devlic-sim: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Generate {
            groups,
            devices,
            seed,
            out,
        } => {
            let json = generate(groups, devices, seed).to_json();
            match out {
                Some(path) => std::fs::write(&path, json + "\n")
                    .map_err(|e| format!("cannot write {}: {e}", path.display())),
                None => {
                    println!("{json}");
                    Ok(())
                }
            }
        }
        Command::Serve {
            tenant,
            listen,
            seed,
            latency_ms,
            throttle_rate,
            retry_after_secs,
            unavailable_rate,
            drop_rate,
            lost_write_rate,
            lag_ms,
            processing_delay_ms,
            token_lifetime_secs,
            budgets,
            client_id,
            client_secret,
        } => {
            if !listen.ip().is_loopback() {
                return Err(format!(
                    "refusing to listen on {listen}: the simulator has no real authentication; use a loopback address such as 127.0.0.1:0"
                ));
            }
            let text = std::fs::read_to_string(&tenant)
                .map_err(|e| format!("cannot read {}: {e}", tenant.display()))?;
            let tenant =
                Tenant::from_json(&text).map_err(|e| format!("{}: {e}", tenant.display()))?;
            let config = SimConfig {
                seed,
                client_id,
                client_secret,
                processing_delay: Duration::from_millis(processing_delay_ms),
                faults: Faults {
                    latency: latency_ms.map(Duration::from_millis),
                    throttle_rate,
                    retry_after_secs,
                    unavailable_rate,
                    drop_rate,
                    lost_write_rate,
                    read_after_write_lag: lag_ms.map(Duration::from_millis),
                    ..Faults::default()
                },
                budgets: budgets.map(|scale| Budgets::graph().scaled(scale)),
                token_lifetime: Duration::from_secs(token_lifetime_secs),
                ..SimConfig::default()
            };
            let sim = Sim::start_on(tenant, config, listen)
                .await
                .map_err(|e| format!("cannot start: {e}"))?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "listening on {}", sim.url()).map_err(|e| e.to_string())?;
            out.flush().map_err(|e| e.to_string())?;
            drop(out);
            let _ = tokio::signal::ctrl_c().await;
            sim.shutdown().await;
            Ok(())
        }
    }
}
