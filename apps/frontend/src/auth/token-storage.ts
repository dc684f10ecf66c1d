// The API token lives in sessionStorage only: it ends with the browser session.
const KEY = 'grimos.token';

export function loadToken(): string | null {
  try {
    return window.sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string): void {
  window.sessionStorage.setItem(KEY, token);
}

export function clearToken(): void {
  window.sessionStorage.removeItem(KEY);
}

export interface TokenStore {
  get: () => string | null;
  set: (token: string | null) => void;
}

/** The current token in memory, mirrored to sessionStorage. */
export function createTokenStore(): TokenStore {
  let current = loadToken();
  return {
    get: () => current,
    set: (token) => {
      current = token;
      if (token === null) clearToken();
      else saveToken(token);
    },
  };
}
