import { createContext, useContext } from 'react';

export interface FormErrors {
  /** Messages by JSON Pointer (from the API or the form's own checks). */
  errors: ReadonlyMap<string, string>;
  /** A control reports input it cannot turn into a value (e.g. unparsable JSON). */
  reportLocal: (pointer: string, message: string | null) => void;
  disabled: boolean;
}

const NO_ERRORS: FormErrors = { errors: new Map(), reportLocal: () => undefined, disabled: false };

export const FormErrorsContext = createContext<FormErrors>(NO_ERRORS);

export function useFormErrors(): FormErrors {
  return useContext(FormErrorsContext);
}

export function useFieldError(pointer: string): string | undefined {
  return useContext(FormErrorsContext).errors.get(pointer);
}
