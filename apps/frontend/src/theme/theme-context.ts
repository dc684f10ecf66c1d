import { createContext } from 'react';
import type { Theme } from './theme-storage';

export interface ThemeState {
  theme: Theme;
  toggleTheme: () => void;
}

export const ThemeContext = createContext<ThemeState | null>(null);
