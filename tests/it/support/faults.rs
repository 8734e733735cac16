//! The one fault-rule type every stand-in uses: "misbehave this way for the next `times`
//! requests that match this key". A key is whatever the stand-in scopes faults by (a prompt
//! marker for Bedrock, a `response_url` path for Slack, a Web API method), so tests running in
//! parallel on the shared stack never trip over each other's faults.

/// Pending fault rules, oldest first.
pub struct FaultRules<F> {
    rules: Vec<Rule<F>>,
}

struct Rule<F> {
    key: String,
    fault: F,
    remaining: u32,
}

impl<F> Default for FaultRules<F> {
    fn default() -> Self {
        FaultRules { rules: Vec::new() }
    }
}

impl<F: Clone> FaultRules<F> {
    /// Applies `fault` to the next `times` requests whose key matches `key`.
    pub fn add(&mut self, key: impl Into<String>, fault: F, times: u32) {
        self.rules.push(Rule {
            key: key.into(),
            fault,
            remaining: times,
        });
    }

    /// Takes one use of the oldest rule whose key `matches`, dropping it once used up.
    pub fn take(&mut self, matches: impl Fn(&str) -> bool) -> Option<F> {
        let index = self.rules.iter().position(|r| matches(&r.key))?;
        let rule = &mut self.rules[index];
        rule.remaining -= 1;
        let fault = rule.fault.clone();
        if rule.remaining == 0 {
            self.rules.remove(index);
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::FaultRules;

    #[test]
    fn rules_apply_to_matching_keys_oldest_first_and_run_out() {
        let mut rules = FaultRules::default();
        rules.add("A", 1, 2);
        rules.add("B", 2, 1);
        rules.add("A", 3, 1);
        assert_eq!(rules.take(|k| k == "B"), Some(2));
        assert_eq!(rules.take(|k| k == "B"), None);
        let a: Vec<_> = (0..4).map(|_| rules.take(|k| k == "A")).collect();
        assert_eq!(a, [Some(1), Some(1), Some(3), None]);
    }
}
