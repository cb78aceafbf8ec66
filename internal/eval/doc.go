// Package eval runs online evaluators: per-project checks of new model
// calls (rule-based ones, and an LLM judge called through a gateway
// deployment) whose results are stored as scores of the calls, with a
// record of every run. The recorder hands each stored batch to
// Engine.Observe, which only samples and queues; workers read the call
// back, evaluate it (retrying transient failures) and write the score.
package eval
