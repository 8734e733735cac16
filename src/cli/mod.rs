//! The `marquee` command line: `serve`, `demo`, `sign`, `poster`, `edit`, `print`, `formats`,
//! `gallery` and `manifest`.
//!
//! Each subcommand is a thin use of the library: the same router, pipeline and messages as the
//! Lambda function. `demo` plays Slack's part on this machine: it signs a slash command exactly
//! as Slack does, receives the `response_url` POST on a local listener, and fetches the image
//! link the way Slack would.
//!
//! `marquee serve | demo | poster | edit | print | gallery | sign | manifest | doctor`, each a thin
//! use of the library (`edit` and `print` set words over an art file); `cli::gallery` renders every
//! style on a contact sheet (the one place outside the pipeline that puts a model and the composer
//! together).

mod formats;
mod gallery;
mod print;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use clap::{Parser, Subcommand};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use marquee_core::request::ModelPolicy;
use marquee_core::secret::Secret;
use marquee_core::slack::command::{self, PosterCommand};
use marquee_core::slack::verify;
use marquee_service::app::{self, Mode};
use marquee_service::config::{Config, SecretSource};

#[derive(Debug, Parser)]
#[command(
    name = "marquee",
    version,
    about = "Movie posters from a sentence, for Slack and beyond"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the local server: Slack routes, the REST API and local poster links.
    Serve {
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: SocketAddr,
    },
    /// Send a signed /poster to a local server, as Slack would, and show what Slack would show.
    Demo {
        /// What to draw, with any /poster options, e.g. "a kraken attacks --style horror".
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true, trailing_var_arg = true)]
        text: Vec<String>,
        /// Where to save the poster.
        #[arg(short, long, default_value = "poster.png")]
        out: PathBuf,
        /// Exit once the poster is delivered, instead of serving its link until Ctrl-C.
        #[arg(long)]
        exit: bool,
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: SocketAddr,
    },
    /// Print curl-ready Slack signature headers for a request body (uses SLACK_SIGNING_SECRET).
    Sign {
        /// The exact request body; read from standard input when omitted.
        body: Option<String>,
        /// Unix time to sign at (default: now).
        #[arg(long)]
        timestamp: Option<i64>,
    },
    /// Render one poster to a file with any configured model.
    Poster {
        #[arg(short, long, default_value = "poster.png")]
        out: PathBuf,
        /// What to draw, with any /poster options.
        #[arg(required = true, num_args = 1.., allow_hyphen_values = true, trailing_var_arg = true)]
        text: Vec<String>,
    },
    /// Set new words over existing art and write the poster.
    Edit(print::EditArgs),
    /// Print-ready PDF and PNG files (trim, bleed and marks) of new words over existing art.
    Print(print::PrintArgs),
    /// One offline poster in every format (one-sheet, square, feed, story, banner, wide), the
    /// art re-composed and the words laid out afresh for each, plus a contact sheet.
    Formats(formats::FormatsArgs),
    /// Render every style on a fixed set of prompts, plus a contact sheet.
    Gallery {
        #[arg(long, default_value = "gallery")]
        out: PathBuf,
        /// Instead, one poster titled in every script Marquee sets (Latin, Japanese across and
        /// down, Chinese, Korean, Arabic, Hebrew, Hindi, Thai, Russian, Greek, emoji) in three
        /// looks, on one contact sheet. Needs the script fonts (scripts/fonts.sh).
        #[arg(long)]
        scripts: bool,
    },
    /// Check a deployment end to end with your AWS credentials: stack, function, secrets,
    /// Slack token, Bedrock model access, bucket privacy, the role's permissions, the front
    /// door and the app manifest. Exits 1 when any check fails.
    Doctor {
        /// The stack `sam deploy` created.
        #[arg(long, default_value = "marquee")]
        stack: String,
        /// The stack's region (default: your AWS configuration's region).
        #[arg(long)]
        region: Option<String>,
        /// The Slack app manifest you installed, to compare its URLs with the deployment's.
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Print the report as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print the Slack app manifest for a deployment, ready for "Create app from manifest".
    Manifest {
        /// The deployment's base URL (the stack's HttpApiUrl output).
        #[arg(long)]
        url: String,
    },
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    marquee_core::poster::use_fonts_dir(marquee_service::config::fonts_dir());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = e.source();
            while let Some(s) = source {
                eprintln!("  caused by: {s}");
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Doctor's report already said what failed; this only sets the exit status.
#[derive(Debug, thiserror::Error)]
#[error("doctor found problems (see the ✘ lines above)")]
struct DoctorFailed;

async fn run(cli: Cli) -> Result<(), BoxError> {
    let config = Config::from_env()?;
    // The demo and one-shot tools print their own story; the server logs what it does.
    let quiet = !matches!(cli.command, Command::Serve { .. });
    // Doctor reports every failure in its own words; the SDK's own warnings (its credential
    // chain's, above all) would repeat them on stderr as Debug-printed structures.
    let default_log = match cli.command {
        Command::Doctor { .. } => "warn,aws_config=off,aws_smithy_runtime=off,aws_sdk_sts=off",
        _ if quiet => "warn",
        _ => "info",
    };
    app::init_tracing(config.log.as_deref().unwrap_or(default_log), false);
    match cli.command {
        Command::Serve { addr } => serve(config, addr).await,
        Command::Demo {
            mut text,
            mut out,
            mut exit,
            addr,
        } => {
            // `marquee demo "a cat" --exit -o cat.png` reads naturally; the flags land in the
            // text, which swallows everything after the first word.
            take_own_flags(&mut text, &mut out, Some(&mut exit))?;
            demo(config, &join_args(&text), out, exit, addr).await
        }
        Command::Sign { body, timestamp } => sign(&config, body, timestamp),
        Command::Poster { mut text, mut out } => {
            take_own_flags(&mut text, &mut out, None)?;
            poster(config, &join_args(&text), out).await
        }
        Command::Doctor {
            stack,
            region,
            manifest,
            json,
        } => {
            let options = crate::doctor::Options {
                stack,
                region,
                manifest,
            };
            let report = crate::doctor::run(&options).await;
            if json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_table());
            }
            if report.ok {
                Ok(())
            } else {
                Err(DoctorFailed.into())
            }
        }
        Command::Manifest { url } => {
            print!("{}", marquee_core::slack::manifest::render(&url)?);
            Ok(())
        }
        Command::Edit(args) => {
            let stored = stored_take(&config, args.source.id).await?;
            let file =
                tokio::task::spawn_blocking(move || print::edit(&args, stored.as_ref())).await??;
            println!("{}", file.display());
            Ok(())
        }
        Command::Print(args) => {
            let stored = stored_take(&config, args.source.id).await?;
            let files =
                tokio::task::spawn_blocking(move || print::print(&args, stored.as_ref())).await??;
            for f in files {
                println!("{}", f.display());
            }
            Ok(())
        }
        Command::Formats(args) => {
            let files = tokio::task::spawn_blocking(move || formats::run(&args)).await??;
            for f in files {
                println!("{}", f.display());
            }
            Ok(())
        }
        Command::Gallery { out, scripts } => {
            let files = tokio::task::spawn_blocking(move || {
                if scripts {
                    gallery::write_scripts(&out)
                } else {
                    gallery::write_gallery(&out)
                }
            })
            .await??;
            for f in files {
                println!("{}", f.display());
            }
            Ok(())
        }
    }
}

/// Takes the command's own flags out of the `/poster` words, wherever they stand: `-o FILE`,
/// `-oFILE`, `--out FILE`, `--out=FILE` and, for the demo, `--exit`. None of them is a
/// `/poster` option, so they cannot be meant as part of the text.
fn take_own_flags(
    words: &mut Vec<String>,
    out: &mut PathBuf,
    mut exit: Option<&mut bool>,
) -> Result<(), BoxError> {
    let mut kept = Vec::with_capacity(words.len());
    let mut iter = std::mem::take(words).into_iter();
    while let Some(word) = iter.next() {
        if word == "-o" || word == "--out" {
            let file = iter
                .next()
                .ok_or_else(|| format!("{word} needs a file name"))?;
            *out = PathBuf::from(file);
        } else if let Some(file) = word.strip_prefix("--out=") {
            *out = PathBuf::from(file);
        } else if let Some(file) = word.strip_prefix("-o").filter(|f| !f.is_empty()) {
            *out = PathBuf::from(file);
        } else if word == "--exit" && exit.is_some() {
            if let Some(flag) = exit.as_deref_mut() {
                *flag = true;
            }
        } else {
            kept.push(word);
        }
    }
    *words = kept;
    Ok(())
}

/// Rejoins shell words into `/poster` text, quoting words that contain spaces, so that
/// `--title "The Long Night"` survives the shell.
fn join_args(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.contains(char::is_whitespace) && !a.contains('"') {
                format!("\"{a}\"")
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Binds `addr` and builds the local application, whose links point at the bound address.
async fn bind_local(
    config: &Config,
    addr: SocketAddr,
) -> Result<(TcpListener, SocketAddr, app::App), BoxError> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let app = app::build(
        config,
        Mode::Local {
            public_url: format!("http://{local}"),
        },
    )
    .await?;
    Ok((listener, local, app))
}

async fn serve(config: Config, addr: SocketAddr) -> Result<(), BoxError> {
    let (listener, local, app) = bind_local(&config, addr).await?;
    if app.state.signing_secret.is_none() {
        tracing::warn!("SLACK_SIGNING_SECRET is not set: Slack routes will answer 503 until it is");
    }
    let in_process = app.in_process.clone();
    eprintln!("marquee listening on http://{local} (Ctrl-C to stop)");
    axum::serve(listener, marquee_service::http::router(app.state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    if let Some(d) = in_process {
        eprintln!(
            "waiting for running jobs to finish (waiting jobs stay queued for the next start)…"
        );
        d.wait_idle().await;
    }
    Ok(())
}

fn sign(config: &Config, body: Option<String>, timestamp: Option<i64>) -> Result<(), BoxError> {
    let secret = match &config.signing_secret {
        Some(SecretSource::Value(s)) => s.clone(),
        _ => return Err("set SLACK_SIGNING_SECRET to the app's signing secret (Basic Information → App Credentials)".into()),
    };
    let body = match body {
        Some(b) => b,
        None => std::io::read_to_string(std::io::stdin())?,
    };
    let ts = timestamp.unwrap_or_else(marquee_service::http::system_clock);
    println!(
        "-H 'X-Slack-Request-Timestamp: {ts}' -H 'X-Slack-Signature: {}'",
        verify::sign(&secret, ts, body.as_bytes())
    );
    Ok(())
}

async fn poster(config: Config, text: &str, out: PathBuf) -> Result<(), BoxError> {
    let policy = ModelPolicy {
        default: config.default_model,
        allowed: config.allowed_models.clone(),
    };
    let spec = match command::parse(text, &policy)? {
        PosterCommand::Help => {
            // The card as a local server shows it: no bot token, the configured print upscaler.
            let app = app::build(&config, Mode::Tool).await?;
            let usage = marquee_core::slack::blocks::usage(
                &policy.allowed,
                policy.default,
                app.pipeline.limits(),
                &app.pipeline.review_offer(),
            );
            print_message(&serde_json::to_value(&usage)?);
            return Ok(());
        }
        PosterCommand::Usage | PosterCommand::History => {
            return Err(
                "`usage` and `history` answer in Slack (/poster usage, /poster history); this command only draws a poster".into(),
            );
        }
        PosterCommand::Poster(spec) => spec,
    };
    let app = app::build(&config, Mode::Tool).await?;
    let drawn = app.pipeline.draw(&spec, None).await?;
    tokio::fs::write(&out, &drawn.png).await?;
    if !drawn.missing_glyphs.is_empty() {
        eprintln!(
            "note: the poster fonts cannot draw {}; those characters were left out of the lettering",
            drawn.missing_glyphs.join(" ")
        );
    }
    println!(
        "{} ({}×{}, {}, {}, seed {}) in {} ms",
        out.display(),
        drawn.width,
        drawn.height,
        spec.model.display_name(),
        spec.style,
        drawn.seed,
        drawn.total_ms
    );
    Ok(())
}

/// Renders Slack `mrkdwn` for a terminal: links, mentions and dates as Slack would show them.
fn mrkdwn_to_terminal(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('>') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        let inner = &rest[start + 1..start + len];
        let shown = match inner.split_once('|') {
            // `<!date^…|fallback>`: the fallback is the plain rendering.
            Some((target, label)) if target.starts_with("!date") => label.to_owned(),
            Some((_, label)) => format!("[{label}]"),
            None if inner.starts_with('@') => inner.to_owned(),
            None => inner.to_owned(),
        };
        out.push_str(&shown);
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The take `id` from this machine's store (the configured data directory, or the bucket and
/// table when they are configured), when `--id` was given.
async fn stored_take(
    config: &Config,
    id: Option<uuid::Uuid>,
) -> Result<Option<print::StoredTake>, BoxError> {
    let Some(id) = id else { return Ok(None) };
    let app = app::build(config, Mode::Tool).await?;
    let (record, art) = app.pipeline.take_with_art(id).await?;
    let text = record.spec.shown_text();
    Ok(Some(print::StoredTake {
        art,
        text,
        typography: record.spec.typography(),
        id,
    }))
}

/// Prints a Block Kit message roughly as Slack would show it.
fn print_message(message: &Value) {
    let visibility = match message["response_type"].as_str() {
        Some("in_channel") => "shared in the channel",
        _ => "only visible to you",
    };
    println!("┌─ Marquee ({visibility})");
    for block in message["blocks"].as_array().into_iter().flatten() {
        match block["type"].as_str() {
            Some("section") => {
                for line in
                    mrkdwn_to_terminal(block["text"]["text"].as_str().unwrap_or_default()).lines()
                {
                    println!("│ {line}");
                }
            }
            Some("context") => {
                for e in block["elements"].as_array().into_iter().flatten() {
                    println!(
                        "│ ({})",
                        mrkdwn_to_terminal(e["text"].as_str().unwrap_or_default())
                    );
                }
            }
            Some("image") => println!(
                "│ [image: {}]",
                block["title"]["text"]
                    .as_str()
                    .or(block["alt_text"].as_str())
                    .unwrap_or_default()
            ),
            Some("divider") => println!("│ ───"),
            Some("actions") => {
                let controls: Vec<String> = block["elements"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| {
                        let label = e["text"]["text"]
                            .as_str()
                            .or(e["placeholder"]["text"].as_str())
                            .unwrap_or("?");
                        format!("[{label}]")
                    })
                    .collect();
                println!("│ {}", controls.join(" "));
            }
            _ => {}
        }
    }
    println!("└─");
}

async fn receive(State(tx): State<mpsc::Sender<Value>>, Json(body): Json<Value>) -> &'static str {
    let _ = tx.send(body).await;
    "ok"
}

async fn demo(
    mut config: Config,
    text: &str,
    out: PathBuf,
    exit: bool,
    addr: SocketAddr,
) -> Result<(), BoxError> {
    // The demo plays Slack: it listens for the response_url POST, and signs with a secret of
    // its own unless one is configured.
    let slack_listener = TcpListener::bind("127.0.0.1:0").await?;
    let slack_origin = format!("http://{}", slack_listener.local_addr()?);
    let (tx, mut rx) = mpsc::channel::<Value>(8);
    let slack_app = axum::Router::new()
        .route("/commands/{team}/{id}/{token}", post(receive))
        .with_state(tx);
    tokio::spawn(async move {
        let _ = axum::serve(slack_listener, slack_app).await;
    });
    config.response_url_hosts.push(slack_origin.clone());
    let secret = match &config.signing_secret {
        Some(SecretSource::Value(s)) => s.clone(),
        _ => {
            let s = Secret::new(uuid::Uuid::new_v4().simple().to_string());
            config.signing_secret = Some(SecretSource::Value(s.clone()));
            s
        }
    };

    let (listener, local, app) = bind_local(&config, addr).await?;
    let in_process = app.in_process.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, marquee_service::http::router(app.state))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    });

    let response_url = format!(
        "{slack_origin}/commands/T0MARQUEE/{}/{}",
        fastrand::u64(..),
        uuid::Uuid::new_v4().simple()
    );
    let form = serde_urlencoded::to_string([
        ("token", "demo-verification-token"),
        ("team_id", "T0MARQUEE"),
        ("team_domain", "marquee-demo"),
        ("channel_id", "C0MARQUEE"),
        ("channel_name", "posters"),
        ("user_id", "U0DEMO"),
        ("user_name", "demo"),
        ("command", "/poster"),
        ("text", text),
        ("api_app_id", "A0MARQUEE"),
        ("is_enterprise_install", "false"),
        ("response_url", &response_url),
        ("trigger_id", "0000000000.0000000000.demo"),
    ])?;
    let ts = marquee_service::http::system_clock();
    let signature = verify::sign(&secret, ts, form.as_bytes());
    let client = marquee_core::net::client();
    println!("/poster {text}");
    let started = Instant::now();
    let ack = client
        .post(format!("http://{local}/slack/commands"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header(verify::TIMESTAMP_HEADER, ts.to_string())
        .header(verify::SIGNATURE_HEADER, signature)
        .body(form)
        .send()
        .await?;
    let ack_ms = started.elapsed().as_millis();
    let status = ack.status();
    let ack_body: Value = ack.json().await.unwrap_or(Value::Null);
    println!("\nack: HTTP {status} in {ack_ms} ms");
    print_message(&ack_body);
    if !status.is_success()
        || ack_body["response_type"] != "ephemeral"
        || ack_body["text"]
            .as_str()
            .is_some_and(|t| !t.contains("Generating"))
    {
        // Help and mistakes end here: there is no job to wait for.
        return Ok(());
    }

    let message = tokio::time::timeout(Duration::from_secs(180), rx.recv())
        .await
        .map_err(|_| "no message arrived at the response_url within 3 minutes")?
        .ok_or("the response_url listener stopped")?;
    println!(
        "\nresponse_url message after {} ms:",
        started.elapsed().as_millis()
    );
    print_message(&message);

    let image = message["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|b| b["type"] == "image")
        .and_then(|b| b["image_url"].as_str().map(str::to_owned));
    let Some(url) = image else {
        return Err("the final message has no poster image".into());
    };
    // Fetch the image as Slack does when it shows the message.
    let png = client
        .get(&url)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    tokio::fs::write(&out, &png).await?;
    println!(
        "\nposter saved to {} ({} KiB)",
        out.display(),
        png.len() / 1024
    );
    if exit {
        println!(
            "link (served by this demo, so it stops working as the demo exits; run without --exit to keep it):\n{url}"
        );
    } else {
        println!(
            "link (works until it expires; this demo keeps serving it until you press Ctrl-C):\n{url}"
        );
    }

    if exit {
        if let Some(d) = in_process {
            d.wait_idle().await;
        }
        server.abort();
        return Ok(());
    }
    let _ = server.await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_rejoined_with_quotes() {
        let args: Vec<String> = ["a", "cat", "--title", "The Long Night", "--style", "noir"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            join_args(&args),
            "a cat --title \"The Long Night\" --style noir"
        );
    }

    #[test]
    fn mrkdwn_reads_like_slack_renders_it() {
        assert_eq!(
            mrkdwn_to_terminal(
                "*T* — for <@U1> · <https://x/y?sig=1|Open full size> (expires <!date^1^{date}|2026-01-01T00:00:00Z>) &lt;3"
            ),
            "*T* — for @U1 · [Open full size] (expires 2026-01-01T00:00:00Z) <3"
        );
    }

    #[test]
    fn the_command_line_parses() {
        Cli::try_parse_from(["marquee", "demo", "--exit", "a", "cat", "--style", "noir"]).unwrap();
        Cli::try_parse_from(["marquee", "poster", "-o", "x.png", "a", "cat"]).unwrap();
        Cli::try_parse_from(["marquee", "serve", "--addr", "127.0.0.1:0"]).unwrap();
        assert!(Cli::try_parse_from(["marquee", "demo"]).is_err());
    }

    #[test]
    fn print_and_edit_take_art_words_and_typography() {
        let cli = Cli::try_parse_from([
            "marquee",
            "print",
            "--art",
            "a.png",
            "--title",
            "Kraken",
            "--style",
            "noir",
            "--placement",
            "bottom",
            "--sheet",
            "a1",
            "--out",
            "prints",
        ])
        .unwrap();
        let Command::Print(args) = cli.command else {
            panic!("not a print command")
        };
        assert_eq!(
            args.sheet,
            print::Sheets(vec![marquee_core::poster::Sheet::A1])
        );
        assert_eq!(args.dpi, marquee_core::poster::PRINT_DPI);
        let all =
            Cli::try_parse_from(["marquee", "print", "--art", "a.png", "--out", "d"]).unwrap();
        let Command::Print(args) = all.command else {
            panic!("not a print command")
        };
        assert_eq!(args.sheet.0, marquee_core::poster::Sheet::ALL.to_vec());
        Cli::try_parse_from([
            "marquee", "edit", "--art", "a.png", "--title", "X", "-o", "p.png",
        ])
        .unwrap();
        // The art is required, and unknown names are refused before any work.
        assert!(Cli::try_parse_from(["marquee", "edit", "--title", "X", "-o", "p.png"]).is_err());
        for bad in [
            &["--placement", "middle"][..],
            &["--style", "musical"],
            &["--sheet", "a0"],
        ] {
            let mut args = vec!["marquee", "print", "--art", "a.png", "--out", "d"];
            args.extend_from_slice(bad);
            assert!(Cli::try_parse_from(args).is_err(), "{bad:?}");
        }
    }

    /// What `marquee poster …` would write to, and the `/poster` text it would draw.
    fn poster_args(args: &[&str]) -> (PathBuf, String) {
        let cli = Cli::try_parse_from(args).unwrap();
        let Command::Poster { mut text, mut out } = cli.command else {
            panic!("not a poster command")
        };
        take_own_flags(&mut text, &mut out, None).unwrap();
        (out, join_args(&text))
    }

    #[test]
    fn the_output_file_is_honoured_wherever_it_stands() {
        for args in [
            &[
                "marquee", "poster", "-o", "out.png", "a cat", "--style", "noir",
            ][..],
            &[
                "marquee", "poster", "a cat", "-o", "out.png", "--style", "noir",
            ],
            &[
                "marquee", "poster", "a cat", "--style", "noir", "-o", "out.png",
            ],
            &[
                "marquee",
                "poster",
                "a cat",
                "--style",
                "noir",
                "--out=out.png",
            ],
            &[
                "marquee", "poster", "a cat", "--out", "out.png", "--style", "noir",
            ],
            &["marquee", "poster", "a cat", "-oout.png", "--style", "noir"],
        ] {
            let (out, text) = poster_args(args);
            assert_eq!(out, PathBuf::from("out.png"), "{args:?}");
            assert_eq!(text, "\"a cat\" --style noir", "{args:?}");
        }
        assert_eq!(
            poster_args(&["marquee", "poster", "a cat"]).0,
            PathBuf::from("poster.png")
        );
        let cli = Cli::try_parse_from(["marquee", "poster", "a cat", "-o"]).unwrap();
        let Command::Poster { mut text, mut out } = cli.command else {
            panic!("not a poster command")
        };
        assert!(take_own_flags(&mut text, &mut out, None).is_err());
    }

    #[test]
    fn the_demo_takes_exit_and_out_from_anywhere() {
        let cli = Cli::try_parse_from([
            "marquee", "demo", "a cat", "--exit", "-o", "c.png", "--style", "noir",
        ])
        .unwrap();
        let Command::Demo {
            mut text,
            mut out,
            mut exit,
            ..
        } = cli.command
        else {
            panic!("not a demo command")
        };
        take_own_flags(&mut text, &mut out, Some(&mut exit)).unwrap();
        assert!(exit);
        assert_eq!(out, PathBuf::from("c.png"));
        assert_eq!(join_args(&text), "\"a cat\" --style noir");
    }
}
