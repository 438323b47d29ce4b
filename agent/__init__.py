"""The search: proposers (LLM and offline), prompts, answer parsing and strategies.

``cudarwin optimize`` (``agent/cli.py``) runs it from a Hydra config
(``cudarwin/conf``)::

    cudarwin optimize                                     # offline proposer, quick suite, cuda
    cudarwin optimize runner.device=cpu                   # whole loop on the CPU (torch-level candidates)
    cudarwin optimize llm=openai llm.model=gpt-4.1 search.generations=20
    cudarwin optimize llm=vllm llm.base_url=http://gpu-box:8000/v1 llm.model=Qwen/Qwen2.5-Coder-32B-Instruct
    cudarwin optimize --multirun llm.model=gpt-4.1,o4-mini seed=0,1
    cudarwin optimize resume=runs/20250101-120000         # continue a stopped run exactly

Pieces, each replaceable:

- ``proposer.Proposer``: ``async propose(ProposalRequest) -> list[Proposal]``;
  ``llm.proposer.LLMProposer`` and ``offline.OfflineProposer`` implement it.
  ``llm._target_`` picks one from ``proposers.PROPOSERS`` (``offline``,
  ``chat``, or a plugin's entry point in the group ``cudarwin.proposers``).
- ``llm``: the chat client (weighted models, concurrency, retries honouring
  Retry-After, cache by full request, usage, cost and budgets) over providers
  registered by name (``llm.providers.PROVIDERS``, the entry-point group
  ``cudarwin.providers``); the OpenAI-compatible one is built in.
- ``prompts``: Markdown templates and pure rendering; ``parse``: fenced code
  and SEARCH/REPLACE edits, with every failure reported back to the model.
- ``search``: strategies picked by ``search._target_`` from
  ``search.base.STRATEGIES`` (translate, repair, evolve, autotune, or the
  group ``cudarwin.strategies``); ``evaluation.EvalService`` runs the
  blocking evaluator in threads so LLM calls and evaluations overlap.
- ``optimize.run_optimize(cfg)``: one run folder (``config.yaml``,
  ``archive.sqlite``, ``summary.json``, ``report/``), evaluating through the
  ``cudarwin.backends.Evaluator`` protocol (``runner.backend``, ``local`` by
  default).
"""
