import { KeyRound, Loader2 } from 'lucide-react';
import { useState, type SyntheticEvent } from 'react';
import { Navigate, useLocation } from 'react-router';
import { ApiError } from '@/api/api-error';
import { useSession } from '@/auth/useSession';
import { ErrorBanner } from '@/components/feedback/ErrorBanner';
import { GrimosLogo } from '@/components/layout/GrimosLogo';
import { ThemeToggle } from '@/components/layout/ThemeToggle';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { Input } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { describeError } from '@/features/connectors/describe-error';

function signInError(error: unknown): string {
  if (error instanceof ApiError && error.isUnauthorized()) {
    return 'That token was not accepted. Check that you copied all of it and that it has not been revoked.';
  }
  return describeError(error);
}

function returnPath(state: unknown): string {
  if (
    typeof state === 'object' &&
    state !== null &&
    'from' in state &&
    typeof state.from === 'string'
  ) {
    return state.from === '/sign-in' ? '/connectors' : state.from;
  }
  return '/connectors';
}

export function SignInPage() {
  const { status, notice, signIn } = useSession();
  const location = useLocation();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (status === 'signed_in') return <Navigate to={returnPath(location.state)} replace />;

  const submit = async (event: SyntheticEvent) => {
    event.preventDefault();
    const trimmed = token.trim();
    if (trimmed === '') {
      setError('Paste your API token.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await signIn(trimmed);
    } catch (caught) {
      setError(signInError(caught));
      setBusy(false);
    }
  };

  return (
    <div className="relative grid min-h-dvh place-items-center bg-[radial-gradient(ellipse_at_top,var(--color-primary)/0.18,transparent_60%)] p-4">
      <div className="absolute top-3 right-3">
        <ThemeToggle />
      </div>
      <main className="grid w-full max-w-sm gap-6">
        <div className="flex justify-center text-xl">
          <GrimosLogo />
        </div>
        <Card>
          <CardHeader>
            <CardTitle>
              <span className="sr-only">grimOS: </span>Sign in
            </CardTitle>
            <CardDescription>
              Use a grimOS API token. It is kept for this browser session only.
            </CardDescription>
          </CardHeader>
          <CardContent>
            <form noValidate onSubmit={(event) => void submit(event)} className="grid gap-4">
              {notice && !error && <ErrorBanner tone="warning" title={notice} />}
              {error && <ErrorBanner title="Sign-in failed">{error}</ErrorBanner>}
              <div className="grid gap-1.5">
                <Label htmlFor="api-token">API token</Label>
                <Input
                  id="api-token"
                  type="password"
                  autoComplete="off"
                  autoFocus
                  spellCheck={false}
                  placeholder="grm_…"
                  value={token}
                  aria-invalid={error ? true : undefined}
                  onChange={(event) => setToken(event.target.value)}
                />
              </div>
              <Button type="submit" disabled={busy}>
                {busy ? (
                  <Loader2 className="animate-spin" aria-hidden="true" />
                ) : (
                  <KeyRound aria-hidden="true" />
                )}
                Sign in
              </Button>
            </form>
          </CardContent>
        </Card>
      </main>
    </div>
  );
}
