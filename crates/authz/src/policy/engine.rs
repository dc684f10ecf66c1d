//! One compiled entry point over a set of modules, evaluated by pooled regorus workers.
//!
//! regorus evaluates through `&mut self`, so an [`Evaluator`] (shared by reference across
//! threads) keeps a pool of ready workers: RVM machines with the program and data loaded,
//! or — when the RVM compiler does not support the policies — clones of the prepared
//! interpreter. A [`Session`] takes one worker out of the pool and puts it back when
//! dropped, so a call never re-adds policies or data.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};

use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::program::Program;
use regorus::rvm::vm::RegoVM;
use regorus::utils::limits::ExecutionTimerConfig;
use regorus::{CompiledPolicy, Engine, Value};

use super::{EVAL_TIME_LIMIT, MAX_INSTRUCTIONS};

/// How many idle workers a pool keeps (more are dropped when returned).
const POOL_LIMIT: usize = 64;

/// Which regorus engine evaluates an entry point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The RVM: the entry point compiled to a register-machine program.
    Rvm,
    /// The tree-walking interpreter (`Engine::eval_rule`).
    Interpreter,
    /// A query the interpreter evaluates with `Engine::eval_query` (not a rule path).
    Query,
}

impl Backend {
    /// `rvm`, `interpreter` or `query`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Rvm => "rvm",
            Backend::Interpreter => "interpreter",
            Backend::Query => "query",
        }
    }
}

pub(crate) fn timer_config() -> ExecutionTimerConfig {
    ExecutionTimerConfig {
        limit: EVAL_TIME_LIMIT,
        check_interval: NonZeroU32::MIN.saturating_add(1023),
    }
}

/// A prepared engine, the program of its entry point (if the RVM compiles it) and the
/// worker pools.
pub(crate) struct Evaluator {
    /// The prepared interpreter, never evaluated itself: workers and tests are its clones.
    template: Mutex<Engine>,
    program: Option<Arc<Program>>,
    backend: Backend,
    entry: String,
    data: Value,
    machines: Mutex<Vec<RegoVM>>,
    engines: Mutex<Vec<Engine>>,
}

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator")
            .field("entry", &self.entry)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl Evaluator {
    /// Wrap a prepared `engine` (policies and data added, `prepare` done) evaluating `entry`.
    ///
    /// `as_rule`: the entry is a rule path (compiled for the RVM when possible, else
    /// `eval_rule`); otherwise it is a query for `eval_query`. `check`: more rule paths
    /// to compile for the RVM only to find errors in them. `force_interpreter` skips the
    /// RVM (for comparisons).
    pub(crate) fn new(
        mut engine: Engine,
        entry: String,
        data: Value,
        as_rule: bool,
        check: &[String],
        force_interpreter: bool,
    ) -> anyhow::Result<Self> {
        let (program, backend) = if !as_rule {
            (None, Backend::Query)
        } else {
            let compiled = engine.compile_with_entrypoint(&regorus::Rc::from(entry.as_str()))?;
            // The RVM compiler finds what the interpreter only finds when a rule runs
            // (unsafe variables, unknown functions): those are errors of the policies. Rules
            // it cannot compile for other reasons are checked by the interpreter only.
            check_rules(&compiled, check)?;
            let program = match Compiler::compile_from_policy(&compiled, &[entry.as_str()])
                .map_err(anyhow::Error::from)
            {
                Ok(program) if !force_interpreter => Some(program),
                Ok(_) => None,
                Err(error) if is_policy_error(&error) => return Err(error),
                Err(error) => {
                    tracing::debug!(%error, entry, "the RVM does not compile these policies; using the interpreter");
                    None
                }
            };
            let backend = if program.is_some() {
                Backend::Rvm
            } else {
                Backend::Interpreter
            };
            (program, backend)
        };
        // `compile_with_entrypoint` turns print gathering on; workers print to stderr
        // instead of collecting prints nobody reads.
        engine.set_gather_prints(false);
        engine.set_execution_timer_config(timer_config());
        let evaluator = Self {
            template: Mutex::new(engine),
            program,
            backend,
            entry,
            data,
            machines: Mutex::new(Vec::new()),
            engines: Mutex::new(Vec::new()),
        };
        // Build one worker now, so data conflicting with the rules fails at compile time.
        let worker = evaluator.new_worker()?;
        evaluator.put_back(worker);
        Ok(evaluator)
    }

    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    /// A fresh clone of the prepared interpreter (no input).
    pub(crate) fn engine(&self) -> Engine {
        lock(&self.template).clone()
    }

    /// Take a worker for one or more evaluations.
    pub(crate) fn session(&self) -> anyhow::Result<Session<'_>> {
        let pooled = match self.program {
            Some(_) => lock(&self.machines).pop().map(Worker::Machine),
            None => lock(&self.engines).pop().map(Worker::Engine),
        };
        let worker = match pooled {
            Some(worker) => worker,
            None => self.new_worker()?,
        };
        Ok(Session {
            owner: self,
            worker: Some(worker),
        })
    }

    fn new_worker(&self) -> anyhow::Result<Worker> {
        match &self.program {
            Some(program) => {
                let mut machine = RegoVM::new();
                machine.load_program(program.clone());
                machine.set_data(self.data.clone())?;
                machine.set_max_instructions(MAX_INSTRUCTIONS);
                machine.set_execution_timer_config(Some(timer_config()));
                Ok(Worker::Machine(machine))
            }
            None => Ok(Worker::Engine(self.engine())),
        }
    }

    fn put_back(&self, worker: Worker) {
        match worker {
            Worker::Machine(machine) => {
                let mut pool = lock(&self.machines);
                if pool.len() < POOL_LIMIT {
                    pool.push(machine);
                }
            }
            Worker::Engine(engine) => {
                let mut pool = lock(&self.engines);
                if pool.len() < POOL_LIMIT {
                    pool.push(engine);
                }
            }
        }
    }
}

enum Worker {
    Machine(RegoVM),
    Engine(Engine),
}

/// One worker taken from an [`Evaluator`]'s pool; returned to it when dropped.
pub(crate) struct Session<'a> {
    owner: &'a Evaluator,
    worker: Option<Worker>,
}

impl Session<'_> {
    /// Evaluate the entry point with `input`: its value, or `Value::Undefined`.
    pub(crate) fn eval(&mut self, input: Value) -> anyhow::Result<Value> {
        match self.worker.as_mut() {
            Some(Worker::Machine(machine)) => {
                machine.set_input(input);
                Ok(machine.execute_entry_point_by_index(0)?)
            }
            Some(Worker::Engine(engine)) => {
                engine.set_input(input);
                match self.owner.backend {
                    Backend::Query => {
                        let results = engine.eval_query(self.owner.entry.clone(), false)?;
                        Ok(query_value(results))
                    }
                    _ => engine.eval_rule(self.owner.entry.clone()),
                }
            }
            None => Err(anyhow::anyhow!("the evaluation session has no worker")),
        }
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if let Some(worker) = self.worker.take() {
            self.owner.put_back(worker);
        }
    }
}

/// Compile each of `rules` (rule paths) for the RVM, only to find the errors of the
/// policies the interpreter finds when a rule runs (unsafe variables, unknown functions).
pub(crate) fn check_rules(compiled: &CompiledPolicy, rules: &[String]) -> anyhow::Result<()> {
    for rule in rules {
        let checked =
            Compiler::compile_from_policy(compiled, &[rule.as_str()]).map_err(anyhow::Error::from);
        if let Err(error) = checked
            && is_policy_error(&error)
        {
            return Err(error);
        }
    }
    Ok(())
}

/// Whether an RVM compiler error is an error of the policy (the interpreter would fail on
/// it when the rule runs) rather than a construct the RVM does not support yet.
pub(crate) fn is_policy_error(error: &anyhow::Error) -> bool {
    let text = format!("{error:#}");
    [
        "Undefined variable:",
        "Unknown function:",
        "Unknown builtin function:",
        "Not a builtin function:",
    ]
    .iter()
    .any(|marker| text.contains(marker))
}

/// The value of a query's results, as `opa eval` would print its first expression: the
/// value when the query has exactly one result with one expression, the list of results'
/// bindings and values otherwise, undefined when it has none.
fn query_value(results: regorus::QueryResults) -> Value {
    match results.result.as_slice() {
        [] => Value::Undefined,
        [one] if one.expressions.len() == 1 && one.bindings == Value::new_object() => {
            one.expressions[0].value.clone()
        }
        many => Value::from(
            many.iter()
                .map(|result| {
                    let mut object = std::collections::BTreeMap::new();
                    object.insert(
                        Value::from("expressions"),
                        Value::from(
                            result
                                .expressions
                                .iter()
                                .map(|e| e.value.clone())
                                .collect::<Vec<_>>(),
                        ),
                    );
                    object.insert(Value::from("bindings"), result.bindings.clone());
                    Value::from(object)
                })
                .collect::<Vec<_>>(),
        ),
    }
}
