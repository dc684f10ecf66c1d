import { AnimatePresence, m } from 'framer-motion';
import { useLocation, useOutlet } from 'react-router';

/** Page transitions: a short fade and rise (none with prefers-reduced-motion). */
export function AnimatedOutlet() {
  const location = useLocation();
  const outlet = useOutlet();
  return (
    <AnimatePresence mode="wait" initial={false}>
      <m.div
        key={location.pathname}
        initial={{ opacity: 0, y: 6 }}
        animate={{ opacity: 1, y: 0 }}
        exit={{ opacity: 0, y: -4 }}
        transition={{ duration: 0.16, ease: 'easeOut' }}
      >
        {outlet}
      </m.div>
    </AnimatePresence>
  );
}
