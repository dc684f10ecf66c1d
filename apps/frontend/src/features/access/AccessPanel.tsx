import { Trash2, UserPlus } from 'lucide-react';
import { useId, useMemo, useState, type SyntheticEvent } from 'react';
import { ApiError } from '@/api/api-error';
import { splitObject, type User } from '@/api/authz-api';
import type { Action, Group, Relation, Relationship } from '@/api/authz-contract';
import { ErrorBanner } from '@/components/feedback/ErrorBanner';
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from '@/components/ui/card';
import { Input } from '@/components/ui/input';
import { Label } from '@/components/ui/label';
import { NativeSelect } from '@/components/ui/native-select';
import { Skeleton } from '@/components/ui/skeleton';
import {
  Table,
  TableBody,
  TableCell,
  TableHead,
  TableHeader,
  TableRow,
} from '@/components/ui/table';
import { toast } from '@/components/ui/toast-store';
import { describeError } from '@/features/connectors/describe-error';
import { DecisionView } from './ReasonList';
import {
  describeSubject,
  groupSubject,
  subjectKind,
  subjectNames,
  userSubject,
  type SubjectNames,
} from './subjects';
import {
  useCheckAccess,
  useGroups,
  useRelationships,
  useUsers,
  useWriteRelationships,
} from './useAccess';
import { useMyPermissions } from './useMyPermissions';

export interface AccessPanelProps {
  /** The object, `type:id` (e.g. `connector:01a2…`). */
  resource: string;
  /** The relations its type has, strongest first (e.g. owner, editor, viewer). */
  relations: readonly Relation[];
  /** The actions its type has, for the "Why?" view (e.g. view, edit, delete). */
  actions: readonly Action[];
  /**
   * Whether the caller may `manage` the object (see, add and remove who has access), when the
   * page has asked already (in its one batch); when absent, the panel asks itself.
   */
  can_manage?: boolean;
}

type SubjectKind = 'user' | 'group';

/** The option of `options` a select's value names. */
function pick<T extends string>(options: readonly T[], value: string): T | undefined {
  return options.find((option) => option === value);
}

function isHidden(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 403 || error.status === 404);
}

/** Labels for the chips of a relation path: names for users and groups, "this …" for it. */
function stepLabel(resource: string, names: SubjectNames) {
  const { type } = splitObject(resource);
  return (step: string) => {
    const [object, relation] = step.split('#', 2);
    if (object === resource)
      return relation === undefined ? `this ${type}` : `this ${type} #${relation}`;
    return describeSubject(step, names);
  };
}

function SubjectPicker({
  id,
  kind,
  users,
  groups,
  value,
  onChange,
}: {
  id: string;
  kind: SubjectKind;
  users: User[] | undefined;
  groups: Group[] | undefined;
  value: string;
  onChange: (value: string) => void;
}) {
  const options =
    kind === 'user'
      ? users
          ?.filter((user) => !user.disabled)
          .map((user) => ({
            value: userSubject(user.id),
            label: `${user.name} (${user.role})`,
          }))
      : groups?.map((group) => ({
          value: groupSubject(group.id),
          label: group.display_name,
        }));
  if (options === undefined) {
    return (
      <Input
        id={id}
        value={value}
        placeholder={kind === 'user' ? 'user:ID' : 'group:ID#member'}
        onChange={(event) => onChange(event.target.value)}
      />
    );
  }
  return (
    <NativeSelect id={id} value={value} onChange={(event) => onChange(event.target.value)}>
      <option value="">{kind === 'user' ? 'Choose a user…' : 'Choose a group…'}</option>
      {options.map((option) => (
        <option key={option.value} value={option.value}>
          {option.label}
        </option>
      ))}
    </NativeSelect>
  );
}

function AddRelationshipForm({
  resource,
  relations,
  users,
  groups,
  names,
  onWritten,
}: {
  resource: string;
  relations: readonly Relation[];
  users: User[] | undefined;
  groups: Group[] | undefined;
  names: SubjectNames;
  onWritten: (revision: string) => void;
}) {
  const id = useId();
  const write = useWriteRelationships(resource, onWritten);
  const [kind, setKind] = useState<SubjectKind>('user');
  const [subject, setSubject] = useState('');
  const [relation, setRelation] = useState<Relation | undefined>(relations[relations.length - 1]);

  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    const chosen = subject.trim();
    if (chosen === '' || relation === undefined) return;
    write.mutate(
      { writes: [{ resource, relation, subject: chosen }] },
      {
        onSuccess: () => {
          toast.success(`Gave ${describeSubject(chosen, names)} the ${relation} relation`);
          setSubject('');
        },
        onError: (error) => toast.error('Could not add access', describeError(error)),
      },
    );
  };

  return (
    <form
      onSubmit={submit}
      aria-label="Add access"
      className="grid items-end gap-3 sm:grid-cols-[8rem_1fr_9rem_auto]"
    >
      <div className="grid gap-1.5">
        <Label htmlFor={`${id}-kind`}>Who</Label>
        <NativeSelect
          id={`${id}-kind`}
          value={kind}
          onChange={(event) => {
            setKind(event.target.value === 'group' ? 'group' : 'user');
            setSubject('');
          }}
        >
          <option value="user">User</option>
          <option value="group">Group</option>
        </NativeSelect>
      </div>
      <div className="grid gap-1.5">
        <Label htmlFor={`${id}-subject`}>{kind === 'user' ? 'User' : 'Group'}</Label>
        <SubjectPicker
          id={`${id}-subject`}
          kind={kind}
          users={users}
          groups={groups}
          value={subject}
          onChange={setSubject}
        />
      </div>
      <div className="grid gap-1.5">
        <Label htmlFor={`${id}-relation`}>Relation</Label>
        <NativeSelect
          id={`${id}-relation`}
          value={relation}
          onChange={(event) => setRelation(pick(relations, event.target.value))}
        >
          {relations.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </NativeSelect>
      </div>
      <Button type="submit" disabled={subject.trim() === '' || write.isPending}>
        <UserPlus aria-hidden="true" />
        {write.isPending ? 'Adding…' : 'Add'}
      </Button>
    </form>
  );
}

function WhyForm({
  resource,
  actions,
  users,
  names,
  revision,
}: {
  resource: string;
  actions: readonly Action[];
  users: User[] | undefined;
  names: SubjectNames;
  /** The revision of the last change made here: the check sees it. */
  revision: string | undefined;
}) {
  const id = useId();
  const check = useCheckAccess();
  const [subject, setSubject] = useState('');
  const [action, setAction] = useState<Action>(actions[0] ?? 'view');
  const label = useMemo(() => stepLabel(resource, names), [resource, names]);

  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    const chosen = subject.trim();
    if (chosen === '') return;
    check.mutate({ subject: chosen, action, resource, at_least: revision });
  };

  return (
    <section className="grid gap-3" aria-labelledby={`${id}-title`}>
      <div>
        <h3 id={`${id}-title`} className="text-sm font-semibold">
          Why?
        </h3>
        <p className="text-sm text-muted-foreground">
          Ask whether someone may do something here, and what grants or denies it.
        </p>
      </div>
      <form
        onSubmit={submit}
        aria-label="Why"
        className="grid items-end gap-3 sm:grid-cols-[1fr_9rem_auto]"
      >
        <div className="grid gap-1.5">
          <Label htmlFor={`${id}-subject`}>User</Label>
          <SubjectPicker
            id={`${id}-subject`}
            kind="user"
            users={users}
            groups={undefined}
            value={subject}
            onChange={setSubject}
          />
        </div>
        <div className="grid gap-1.5">
          <Label htmlFor={`${id}-action`}>Action</Label>
          <NativeSelect
            id={`${id}-action`}
            value={action}
            onChange={(event) => setAction(pick(actions, event.target.value) ?? action)}
          >
            {actions.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </NativeSelect>
        </div>
        <Button type="submit" variant="outline" disabled={subject.trim() === '' || check.isPending}>
          {check.isPending ? 'Checking…' : 'Check'}
        </Button>
      </form>
      {check.isError && (
        <ErrorBanner title="Could not check access">{describeError(check.error)}</ErrorBanner>
      )}
      {check.data && <DecisionView decision={check.data} label={label} />}
    </section>
  );
}

function RelationshipTable({
  resource,
  relationships,
  names,
  onWritten,
}: {
  resource: string;
  relationships: Relationship[];
  names: SubjectNames;
  onWritten: (revision: string) => void;
}) {
  const write = useWriteRelationships(resource, onWritten);
  const { type } = splitObject(resource);
  if (relationships.length === 0) {
    return (
      <p className="text-sm text-muted-foreground">
        Nobody holds a relation on this {type} yet; roles still apply (admins and operators reach
        every {type}).
      </p>
    );
  }
  return (
    <Table aria-label="Who has access">
      <TableHeader>
        <TableRow>
          <TableHead>Who</TableHead>
          <TableHead>Relation</TableHead>
          <TableHead className="w-0">
            <span className="sr-only">Actions</span>
          </TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {relationships.map((relationship) => {
          const who = describeSubject(relationship.subject, names);
          return (
            <TableRow key={`${relationship.relation}@${relationship.subject}`}>
              <TableCell>
                <div className="grid">
                  <span className="font-medium break-all">{who}</span>
                  {who !== relationship.subject && (
                    <span className="font-mono text-xs break-all text-muted-foreground">
                      {relationship.subject}
                    </span>
                  )}
                </div>
              </TableCell>
              <TableCell>
                <div className="flex items-center gap-1">
                  <Badge variant="accent">{relationship.relation}</Badge>
                  <span className="text-xs text-muted-foreground">
                    {subjectKind(relationship.subject)}
                  </span>
                </div>
              </TableCell>
              <TableCell>
                <Button
                  variant="ghost"
                  size="icon"
                  aria-label={`Remove ${who} as ${relationship.relation}`}
                  disabled={write.isPending}
                  onClick={() =>
                    write.mutate(
                      { deletes: [relationship] },
                      {
                        onSuccess: () =>
                          toast.success(`Removed ${who} as ${relationship.relation}`),
                        onError: (error) =>
                          toast.error('Could not remove access', describeError(error)),
                      },
                    )
                  }
                >
                  <Trash2 aria-hidden="true" />
                </Button>
              </TableCell>
            </TableRow>
          );
        })}
      </TableBody>
    </Table>
  );
}

function NotShown({ type }: { type: string }) {
  return (
    <p className="text-sm text-muted-foreground">You may not see who has access to this {type}.</p>
  );
}

/**
 * Who holds which relation on an object, adding and removing them, and "why may X do Y?".
 * Reusable for any object type: give it the type's relations and actions.
 */
export function AccessPanel({ resource, relations, actions, can_manage }: AccessPanelProps) {
  const own = useMyPermissions(resource, can_manage === undefined ? ['manage'] : []);
  const may_manage = can_manage ?? own.can('manage', resource);
  const deciding = can_manage === undefined && own.status === 'pending';
  // Only who may manage the object may list its relationships: nobody else asks (and is refused).
  const relationships = useRelationships(resource, may_manage);
  const visible = relationships.isSuccess;
  const users = useUsers(visible);
  const groups = useGroups(visible);
  const names = useMemo(
    () => subjectNames(users.data ?? [], groups.data ?? []),
    [users.data, groups.data],
  );
  const { type } = splitObject(resource);
  // A list that cannot be read (no permission) leaves a field to type the reference in.
  const user_options = users.isError ? undefined : (users.data ?? []);
  const group_options = groups.isError ? undefined : (groups.data ?? []);
  const [revision, setRevision] = useState<string | undefined>(undefined);

  return (
    <Card>
      <CardHeader>
        <CardTitle>Access</CardTitle>
        <CardDescription>Who holds which relation on this {type}.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-6">
        {(deciding || (may_manage && relationships.isPending)) && (
          <div className="grid gap-2" aria-busy="true">
            <Skeleton className="h-8" />
            <Skeleton className="h-8" />
          </div>
        )}
        {!deciding && !may_manage && <NotShown type={type} />}
        {relationships.isError &&
          (isHidden(relationships.error) ? (
            <NotShown type={type} />
          ) : (
            <ErrorBanner
              title="Could not load who has access"
              action={
                <Button variant="outline" size="sm" onClick={() => void relationships.refetch()}>
                  Try again
                </Button>
              }
            >
              {describeError(relationships.error)}
            </ErrorBanner>
          ))}
        {relationships.isSuccess && (
          <>
            <RelationshipTable
              resource={resource}
              relationships={relationships.data}
              names={names}
              onWritten={setRevision}
            />
            <AddRelationshipForm
              resource={resource}
              relations={relations}
              users={user_options}
              groups={group_options}
              names={names}
              onWritten={setRevision}
            />
            <WhyForm
              resource={resource}
              actions={actions}
              users={user_options}
              names={names}
              revision={revision}
            />
          </>
        )}
      </CardContent>
    </Card>
  );
}
