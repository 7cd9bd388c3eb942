//! Writes sent under the retry policy, made safe to retry by their `request_id`.

use std::future::Future;

use crate::{Client, Error, v1};

/// A write request with a `request_id`, which makes retrying it safe.
pub trait Idempotent {
    /// The request's `request_id`.
    fn request_id_mut(&mut self) -> &mut String;
}

macro_rules! idempotent {
    ($($request:ident),* $(,)?) => {$(
        impl Idempotent for v1::$request {
            fn request_id_mut(&mut self) -> &mut String {
                &mut self.request_id
            }
        }
    )*};
}

idempotent!(
    CreatePartyRequest,
    UpdatePartyRequest,
    DeletePartyRequest,
    CreateAreaRequest,
    UpdateAreaRequest,
    DeleteAreaRequest,
    CreatePairingRequest,
    UpdatePairingRequest,
    DeletePairingRequest,
    CreateProjectRequest,
    UpdateProjectRequest,
    DeleteProjectRequest,
    CreateIndicatorRequest,
    UpdateIndicatorRequest,
    DeleteIndicatorRequest,
    CreateObservationRequest,
    UpdateObservationRequest,
    DeleteObservationRequest,
    BatchUpsertProjectsRequest,
    BatchUpsertObservationsRequest,
);

impl Client {
    /// Sends a write under the retry policy. A request without a `request_id` gets a fresh one
    /// first, so a write retried after a lost answer is applied once.
    ///
    /// ```no_run
    /// # async fn run(client: pairing_aid_client::Client) -> Result<(), pairing_aid_client::Error> {
    /// use pairing_aid_client::v1;
    /// let request = v1::DeleteProjectRequest {
    ///     name: "projects/old-project".into(),
    ///     ..Default::default()
    /// };
    /// let deleted = client
    ///     .write(request, |client, request| async move {
    ///         client.projects().delete_project(request).await
    ///     })
    ///     .await?;
    /// println!("deleted at revision {}", deleted.revision);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn write<Request, Response, Call, Sent>(
        &self,
        mut request: Request,
        call: Call,
    ) -> Result<Response, Error>
    where
        Request: Idempotent + Clone,
        Call: Fn(Client, Request) -> Sent,
        Sent: Future<Output = Result<tonic::Response<Response>, tonic::Status>>,
    {
        if request.request_id_mut().is_empty() {
            *request.request_id_mut() = crate::new_request_id();
        }
        self.retrying(|| {
            let sent = call(self.clone(), request.clone());
            async move {
                sent.await
                    .map(tonic::Response::into_inner)
                    .map_err(Error::from)
            }
        })
        .await
    }
}
