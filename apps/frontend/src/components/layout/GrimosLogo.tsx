export function GrimosLogo() {
  return (
    <span className="flex items-center gap-2 font-semibold tracking-tight">
      <svg viewBox="0 0 32 32" className="size-7" aria-hidden="true">
        <rect width="32" height="32" rx="7" className="fill-primary/15" />
        <path
          d="M16 5l9 5.5v11L16 27l-9-5.5v-11z"
          fill="none"
          className="stroke-primary"
          strokeWidth="2.2"
        />
        <circle cx="16" cy="16" r="3.2" className="fill-accent" />
      </svg>
      <span>
        grim<span className="text-primary">OS</span>
      </span>
    </span>
  );
}
