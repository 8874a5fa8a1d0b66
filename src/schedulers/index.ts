/**
 * recur-nn/schedulers: learning-rate schedules with PyTorch 1.13's semantics
 * (torch.optim.lr_scheduler): `StepLR`, `ExponentialLR`, `CosineAnnealingLR`, `LambdaLR`, and their
 * base class `LRScheduler` for schedules of one's own. `fit({ scheduler })` steps one per epoch.
 */
export { LRScheduler, StepLR, ExponentialLR, CosineAnnealingLR, LambdaLR, type SchedulerStateDict } from "../train/schedulers.js";
