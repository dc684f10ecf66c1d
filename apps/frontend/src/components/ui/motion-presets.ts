import type { Transition } from 'framer-motion';

// Shared transitions; <MotionConfig reducedMotion="user"> turns movement off for users who ask.
export const overlay_motion = {
  initial: { opacity: 0 },
  animate: { opacity: 1 },
  exit: { opacity: 0 },
  transition: { duration: 0.15 } satisfies Transition,
};

export const dialog_motion = {
  initial: { opacity: 0, scale: 0.96, y: 8 },
  animate: { opacity: 1, scale: 1, y: 0 },
  exit: { opacity: 0, scale: 0.96, y: 8 },
  transition: { duration: 0.18, ease: 'easeOut' } satisfies Transition,
};
