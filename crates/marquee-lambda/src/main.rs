//! The AWS Lambda function: the Slack front door and the worker, in one binary.

use lambda_runtime::{Error, service_fn};
use marquee_service::app::{self, Mode};
use marquee_service::config::Config;
use marquee_service::lambda::Handler;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = Config::from_env()?;
    app::init_tracing(config.log.as_deref().unwrap_or("info"), true);
    let app = app::build(&config, Mode::Lambda).await?;
    let handler = Handler::new(marquee_service::http::router(app.state), app.pipeline);
    lambda_runtime::run(service_fn(move |event| {
        let handler = handler.clone();
        async move { handler.handle(event).await }
    }))
    .await
}
