import { render, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Decision } from '@/api/authz-contract';
import { DecisionView } from './ReasonList';
import { orderedReasons, reasonPath } from './reasons';

describe('reasons', () => {
  it('takes the path from the reason, else from its summary', () => {
    expect(
      reasonPath({ kind: 'relationship', summary: 'x', path: ['flow:42#viewer', 'user:ann'] }),
    ).toEqual(['flow:42#viewer', 'user:ann']);
    expect(
      reasonPath({
        kind: 'relationship',
        summary: 'flow:42#viewer ← group:sre#member ← user:ann',
      }),
    ).toEqual(['flow:42#viewer', 'group:sre#member', 'user:ann']);
    expect(reasonPath({ kind: 'no_grant', summary: 'user:ann holds no role ← anything' })).toEqual(
      [],
    );
  });

  it('puts policy denials before grants', () => {
    const ordered = orderedReasons([
      { kind: 'role', summary: 'platform:grimos#operator ← user:ann' },
      { kind: 'policy', summary: 'policy hours denies: outside hours', policy: 'hours' },
    ]);
    expect(ordered.map((reason) => reason.kind)).toEqual(['policy', 'role']);
  });
});

describe('DecisionView', () => {
  it('renders the relation path as chips joined by arrows', () => {
    const decision: Decision = {
      allowed: true,
      revision: '17',
      reasons: [
        {
          kind: 'relationship',
          summary: 'connector:c1#viewer ← group:sre#member ← user:u1',
          path: ['connector:c1#viewer', 'group:sre#member', 'user:u1'],
        },
      ],
    };
    render(
      <DecisionView decision={decision} label={(step) => (step === 'user:u1' ? 'ann' : step)} />,
    );
    expect(screen.getByText('Allowed')).toBeInTheDocument();
    expect(screen.getByText('at revision 17')).toBeInTheDocument();
    const path = screen.getByRole('list', { name: 'Relation path' });
    const chips = within(path)
      .getAllByRole('listitem')
      .map((item) => item.textContent);
    // Three chips, object first, the subject (named) last, and an arrow between each two.
    expect(chips).toEqual(['connector:c1#viewer', 'group:sre#member', 'ann']);
    const arrows = path.querySelectorAll('li[aria-hidden="true"] svg');
    expect(arrows).toHaveLength(2);
    expect(path.children[1]?.querySelector('svg')).not.toBeNull();
    expect(path.children[3]?.querySelector('svg')).not.toBeNull();
    expect(screen.getByText('Granted by a relationship')).toBeInTheDocument();
  });

  it('shows a policy denial in red, with its policy and rule, before the overridden grant', () => {
    const decision: Decision = {
      allowed: false,
      revision: '18',
      reasons: [
        {
          kind: 'role',
          summary: 'platform:grimos#operator ← user:u1',
          path: ['platform:grimos#operator', 'user:u1'],
        },
        {
          kind: 'policy',
          summary: 'policy hours denies: operators change nothing outside 09:00–17:00',
          policy: 'hours',
          rule: 'grimos.policies.hours.deny',
        },
      ],
    };
    render(<DecisionView decision={decision} />);
    expect(screen.getByText('Denied')).toBeInTheDocument();
    const items = within(screen.getByRole('list', { name: 'Reasons' })).getAllByRole('listitem');
    const denial = items[0] as HTMLElement;
    expect(denial).toHaveAttribute('data-kind', 'policy');
    expect(denial.className).toMatch(/text-destructive/);
    expect(denial).toHaveTextContent('Denied by a policy');
    expect(denial).toHaveTextContent('hours · grimos.policies.hours.deny');
    expect(denial).toHaveTextContent('operators change nothing outside 09:00–17:00');
    expect(screen.getByText('Granted by a role, but a policy denies')).toBeInTheDocument();
  });

  it('shows the summary when nothing grants it', () => {
    render(
      <DecisionView
        decision={{
          allowed: false,
          revision: '3',
          reasons: [
            {
              kind: 'no_grant',
              summary: 'user:u2 holds no role and no relationship that grants edit on connector:c1',
            },
          ],
        }}
      />,
    );
    expect(screen.getByText('No role or relationship grants it')).toBeInTheDocument();
    expect(screen.getByText(/holds no role and no relationship/)).toBeInTheDocument();
    expect(screen.queryByRole('list', { name: 'Relation path' })).toBeNull();
  });
});
