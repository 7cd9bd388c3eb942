//! One copy of each reference and provenance among many resources.

use std::sync::Arc;

use foldhash::HashSet;

use super::{Provenance, Resource, ResourceName};

/// Hands out one shared copy of every referenced name and provenance it is shown. Millions of
/// observations cite a few sources and a few thousand areas and indicators; decoded one by
/// one, each would carry copies of its own, several hundred bytes an observation.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Shared {
    names: HashSet<ResourceName>,
    provenances: HashSet<Arc<Provenance>>,
}

impl Shared {
    /// `resource` with its references and provenance replaced by the shared copies.
    pub fn share(&mut self, mut resource: Resource) -> Resource {
        match &mut resource {
            Resource::Pairing(pairing) => {
                self.name(&mut pairing.party);
                self.name(&mut pairing.area);
                self.provenance(&mut pairing.provenance);
            }
            Resource::Project(project) => {
                self.name(&mut project.party);
                if let Some(pairing) = &mut project.pairing {
                    self.name(pairing);
                }
                for recipient in &mut project.recipients {
                    self.name(&mut recipient.area);
                }
                for output in &mut project.outputs {
                    self.name(&mut output.indicator);
                }
                self.provenance(&mut project.provenance);
            }
            Resource::Observation(observation) => {
                self.name(&mut observation.indicator);
                self.name(&mut observation.area);
                self.provenance(&mut observation.provenance);
            }
            Resource::Party(_) | Resource::Area(_) | Resource::Indicator(_) => {}
        }
        resource
    }

    fn name(&mut self, name: &mut ResourceName) {
        match self.names.get(name) {
            Some(shared) => *name = shared.clone(),
            None => _ = self.names.insert(name.clone()),
        }
    }

    fn provenance(&mut self, provenance: &mut Arc<Provenance>) {
        match self.provenances.get(provenance) {
            Some(shared) => *provenance = shared.clone(),
            None => _ = self.provenances.insert(provenance.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_references_and_provenances_decoded_apart_end_up_as_one_copy() {
        let resources = crate::seed::demo_resources().unwrap();
        let observation = resources
            .iter()
            .find_map(|r| match r {
                Resource::Observation(o) => Some(o.clone()),
                _ => None,
            })
            .unwrap();
        // What decoding does: every resource with copies of its own.
        let decoded = || {
            let mut copy = observation.clone();
            copy.provenance = Arc::new(Provenance::clone(&observation.provenance));
            copy.indicator = ResourceName::try_from(observation.indicator.to_string()).unwrap();
            Resource::Observation(copy)
        };
        let mut shared = Shared::default();
        let (Resource::Observation(first), Resource::Observation(second)) =
            (shared.share(decoded()), shared.share(decoded()))
        else {
            unreachable!("observations stay observations");
        };
        assert!(Arc::ptr_eq(&first.provenance, &second.provenance));
        assert_eq!(
            first.indicator.as_str().as_ptr(),
            second.indicator.as_str().as_ptr()
        );
        assert_eq!(first, observation, "sharing changes no value");
    }
}
