import * as AlertDialogPrimitive from '@radix-ui/react-alert-dialog';
import { AnimatePresence, m } from 'framer-motion';
import type { ReactNode } from 'react';
import { buttonVariants } from './button-variants';
import { dialog_motion, overlay_motion } from './motion-presets';

interface AlertDialogProps {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: ReactNode;
  description: ReactNode;
  confirm_label: string;
  busy?: boolean;
  onConfirm: () => void;
  children?: ReactNode;
}

/** A confirmation for a destructive action; focus starts on Cancel. */
export function AlertDialog({
  open,
  onOpenChange,
  title,
  description,
  confirm_label,
  busy = false,
  onConfirm,
  children,
}: AlertDialogProps) {
  return (
    <AlertDialogPrimitive.Root open={open} onOpenChange={onOpenChange}>
      <AnimatePresence>
        {open && (
          <AlertDialogPrimitive.Portal forceMount>
            <AlertDialogPrimitive.Overlay asChild forceMount>
              <m.div className="fixed inset-0 z-50 bg-black/60" {...overlay_motion} />
            </AlertDialogPrimitive.Overlay>
            <div className="pointer-events-none fixed inset-0 z-50 grid place-items-center p-4">
              <AlertDialogPrimitive.Content asChild forceMount>
                <m.div
                  className="pointer-events-auto grid w-full max-w-md gap-4 rounded-xl border bg-popover p-6 text-popover-foreground shadow-xl"
                  {...dialog_motion}
                >
                  <div className="flex flex-col gap-2">
                    <AlertDialogPrimitive.Title className="text-lg font-semibold">
                      {title}
                    </AlertDialogPrimitive.Title>
                    <AlertDialogPrimitive.Description className="text-sm text-muted-foreground">
                      {description}
                    </AlertDialogPrimitive.Description>
                  </div>
                  {children}
                  <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">
                    <AlertDialogPrimitive.Cancel className={buttonVariants({ variant: 'outline' })}>
                      Cancel
                    </AlertDialogPrimitive.Cancel>
                    <AlertDialogPrimitive.Action
                      className={buttonVariants({ variant: 'destructive' })}
                      disabled={busy}
                      onClick={(event) => {
                        // Keep the dialog open until the action has finished.
                        event.preventDefault();
                        onConfirm();
                      }}
                    >
                      {confirm_label}
                    </AlertDialogPrimitive.Action>
                  </div>
                </m.div>
              </AlertDialogPrimitive.Content>
            </div>
          </AlertDialogPrimitive.Portal>
        )}
      </AnimatePresence>
    </AlertDialogPrimitive.Root>
  );
}
