"""The loop's rules, in one Qt-free place that the window and the command line both call.

- `segment`: what re-segmenting does to each image (by its state) and doing it;
- `models`: the project's runs, its one active checkpoint and the list of model choices;
- `project_choices`: the project's architecture and inference scale, and what a model learnt;
- `finetune`: a project's fine-tune settings, the starting weights, running a fine-tune and
  deciding whether the new model becomes active (only when it finished and is at least as good
  as the active one on the same validation images).
"""

from segstudio.engine.workflow.finetune import (
    FinetuneOutcome,
    FinetuneSettings,
    StartChoice,
    default_finetune,
    finetune_settings,
    resumable,
    run_finetune,
    save_finetune_settings,
    starting_point,
    unusual_settings,
)
from segstudio.engine.workflow.project_choices import (
    DEFAULT_ARCH,
    ArchitectureError,
    predict_scale,
    project_arch,
    set_predict_scale,
    set_project_arch,
)
from segstudio.engine.workflow.run_registry import (
    ModelChoice,
    active_checkpoint,
    adopt_or_check_classes,
    architectures,
    delete_run,
    model_choices,
    rename_run,
    run_records,
    set_active,
)
from segstudio.engine.workflow.segment import (
    SegmentPlan,
    SegmentResult,
    plan_segmentation,
    queue_rank,
    review_queue,
    save_prediction,
    segment_project,
)

__all__ = [
    "DEFAULT_ARCH",
    "ArchitectureError",
    "FinetuneOutcome",
    "FinetuneSettings",
    "ModelChoice",
    "SegmentPlan",
    "SegmentResult",
    "StartChoice",
    "active_checkpoint",
    "adopt_or_check_classes",
    "architectures",
    "default_finetune",
    "delete_run",
    "finetune_settings",
    "model_choices",
    "plan_segmentation",
    "predict_scale",
    "project_arch",
    "queue_rank",
    "rename_run",
    "resumable",
    "review_queue",
    "run_finetune",
    "run_records",
    "save_finetune_settings",
    "save_prediction",
    "segment_project",
    "set_active",
    "set_predict_scale",
    "set_project_arch",
    "starting_point",
    "unusual_settings",
]
