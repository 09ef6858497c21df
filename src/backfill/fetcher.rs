//! The fetch phase of a chunk: the run's pipeline for the backfill (begun
//! here when there is none), the backfill's own pages or a sweep's.

use crate::github::{FetchedChunk, GithubClient, GithubError, Pipeline};
use crate::store::state::Backfill;

/// The run's fetch of one backfill: chunks fetched ahead of the one being
/// stored, kept from one chunk to the next while the run takes them, and
/// how many more the run means to take after this one (`ahead`), whose
/// pages may travel with this one's follow-ups.
#[derive(Default)]
pub struct Fetcher {
    pub(super) pipeline: Option<Pipeline>,
    pub ahead: usize,
    /// Whether the chunk is a sweep's page (a completed backfill kept
    /// current) rather than the backfill's next page.
    pub sweeping: bool,
    pub(super) pipeline_sweeps: bool,
}

/// The fetch phase: the next chunk after the stored cursor, complete,
/// through the run's pipeline for the backfill (begun here if none is).
pub(super) async fn fetch(
    github: &GithubClient,
    backfill: &Backfill,
    size: i64,
    fetcher: &mut Fetcher,
) -> Result<FetchedChunk, GithubError> {
    let node_limit = backfill.metadata.node_limit.and_then(|n| u64::try_from(n).ok());
    let meta = &backfill.metadata;
    fetcher.pipeline_sweeps = fetcher.sweeping;
    let pipeline = fetcher.pipeline.get_or_insert_with(|| match fetcher.sweeping {
        true => Pipeline::sweep(
            &backfill.owner,
            &backfill.name,
            meta.sweep_cursor.as_deref(),
            super::sweep::watermark(backfill),
            node_limit,
        ),
        false => Pipeline::new(
            &backfill.owner,
            &backfill.name,
            backfill.last_processed_cursor.as_deref(),
            backfill.last_processed_pr_number,
            node_limit,
        ),
    });
    // A sweep's next page is asked only once it is known to be needed.
    let ahead = if fetcher.sweeping { 0 } else { fetcher.ahead };
    pipeline.next_chunk(github, size, ahead).await
}
