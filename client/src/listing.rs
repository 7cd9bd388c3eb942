//! Listings as streams: every page of a List call, fetched as the items are consumed.

use std::future::Future;
use std::pin::Pin;

use futures_util::{Stream, TryStreamExt as _, stream};

use crate::{Client, Error, v1};

/// Pages of a listing, fetched as they are consumed.
pub struct Listing<T> {
    fetch: Box<dyn FnMut(String) -> PageFuture<T> + Send>,
}

type PageFuture<T> = Pin<Box<dyn Future<Output = Result<(Vec<T>, String), Error>> + Send>>;

/// A stream of items or changes, boxed so callers can poll it without pinning it themselves.
pub type ItemStream<T> = Pin<Box<dyn Stream<Item = Result<T, Error>> + Send>>;

impl<T: Send + 'static> Listing<T> {
    /// Every page, in order, each fetched when the one before has been taken: a caller that
    /// prints pages as they come holds one at a time.
    pub fn pages(self) -> ItemStream<Vec<T>> {
        let state = (self.fetch, Some(String::new()));
        Box::pin(stream::unfold(state, |(mut fetch, next)| async move {
            let token = next?;
            match fetch(token).await {
                Ok((items, next)) => {
                    let next = (!next.is_empty()).then_some(next);
                    Some((Ok(items), (fetch, next)))
                }
                Err(error) => Some((Err(error), (fetch, None))),
            }
        }))
    }

    /// Every item of every page, in order; the next page is fetched when the last is used up.
    pub fn items(self) -> ItemStream<T> {
        Box::pin(
            self.pages()
                .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
                .try_flatten(),
        )
    }
}

/// Defines one `list_*` method per resource: a [`Listing`] whose pages are fetched with the
/// client's retry policy.
macro_rules! listings {
    ($($(#[$doc:meta])* $name:ident: $stub:ident . $call:ident ($request:ident) -> $item:ident . $field:ident,)*) => {$(
        $(#[$doc])*
        pub fn $name(&self, request: v1::$request) -> Listing<v1::$item> {
            let client = self.clone();
            Listing {
                fetch: Box::new(move |page_token| {
                    let client = client.clone();
                    let request = v1::$request { page_token, ..request.clone() };
                    Box::pin(async move {
                        client
                            .retry
                            .run(|| {
                                let mut stub = client.$stub();
                                let request = request.clone();
                                async move { stub.$call(request).await.map_err(Error::from) }
                            })
                            .await
                            .map(|page| {
                                let page = page.into_inner();
                                (page.$field, page.next_page_token)
                            })
                    })
                }),
            }
        }
    )*};
}

impl Client {
    listings! {
        /// Every party matching `request`, page by page.
        list_parties: parties.list_parties(ListPartiesRequest) -> Party.parties,
        /// Every area matching `request`, page by page.
        list_areas: areas.list_areas(ListAreasRequest) -> Area.areas,
        /// Every pairing matching `request`, page by page.
        list_pairings: pairings.list_pairings(ListPairingsRequest) -> Pairing.pairings,
        /// Every project matching `request`, page by page.
        list_projects: projects.list_projects(ListProjectsRequest) -> Project.projects,
        /// Every indicator matching `request`, page by page.
        list_indicators: indicators.list_indicators(ListIndicatorsRequest) -> Indicator.indicators,
        /// Every observation matching `request`, page by page.
        list_observations: observations.list_observations(ListObservationsRequest) -> Observation.observations,
        /// Every revision of the resource `request` names, newest first, page by page.
        list_resource_revisions: records.list_resource_revisions(ListResourceRevisionsRequest) -> ResourceRevision.revisions,
    }
}
