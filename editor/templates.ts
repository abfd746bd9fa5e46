/** A flow to start from: one of the use cases, taken from the fixtures the runtime's own tests run. */
export interface FlowTemplate {
  key: string;
  title: string;
  description: string;
  document: unknown;
}

// Listed by name, not by wildcard, so test fixtures that are broken on purpose never reach the bundle.
const fixtures = import.meta.glob(
  [
    '../test/fixtures/flows/leads.flow.json',
    '../test/fixtures/flows/tickets.flow.json',
    '../test/fixtures/flows/hr-learning.flow.json',
    '../test/fixtures/flows/helpdesk-engineering.flow.json',
    '../test/fixtures/flows/crm-marketing.flow.json',
    '../test/fixtures/flows/bamboohr-moodle.flow.json',
  ],
  { eager: true, import: 'default' },
);

const described: Omit<FlowTemplate, 'document'>[] = [
  { key: 'leads', title: 'CRM ↔ marketing', description: 'Leads in the CRM and contacts in the marketing tool, matched by email.' },
  { key: 'tickets', title: 'Tickets ↔ issues', description: 'Help-desk tickets and engineering issues, with statuses mapped both ways.' },
  { key: 'hr-learning', title: 'HR ↔ learning', description: 'Employees in the HR system and learners in the learning platform.' },
  {
    key: 'helpdesk-engineering',
    title: 'Help desk ↔ engineering',
    description: 'Zendesk tickets and GitHub issues: subject, status and priority both ways, the description into the issue body.',
  },
  {
    key: 'crm-marketing',
    title: 'CRM ↔ marketing: HubSpot ↔ Mailchimp',
    description: 'HubSpot contacts and Mailchimp members matched by email: names both ways, the lifecycle stage as a tag, unsubscribes back to HubSpot.',
  },
  {
    key: 'bamboohr-moodle',
    title: 'HR ↔ learning: BambooHR ↔ Moodle',
    description: 'BambooHR employees as Moodle learners, matched by email: names and email both ways, each enrolled in their department’s course and moved when it changes, suspended when they leave.',
  },
];

/** The templates whose fixture is present. */
export const flowTemplates: FlowTemplate[] = described.flatMap((template) => {
  const document = fixtures[`../test/fixtures/flows/${template.key}.flow.json`];
  return document === undefined ? [] : [{ ...template, document }];
});
